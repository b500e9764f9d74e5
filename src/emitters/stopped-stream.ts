/**
 * Watches a stream of the user's (a `logger`'s, or a `destination` stream) for having stopped taking
 * lines for good, which nothing tells the emitter: after a broken pipe (EPIPE: the reader went away),
 * pino swallows the error and replaces the stream's `write`, `end`, `flushSync` and `destroy` with one
 * no-op, so every line written to it is lost; a destroyed stream loses them too. Returns why it
 * stopped, or undefined while it still takes lines.
 *
 * It listens for no error: a listener would keep any other error pino passes on from crashing the
 * process, which is the owner's choice.
 * @internal
 */
export function watchStopped(stream: unknown): () => Error | undefined {
  const watched = stream as { write?: unknown; end?: unknown; destroyed?: unknown };
  // The write of a working stream, compared once per event; undefined if pino had already given up on it.
  const working = hasPinoNoop(watched) ? undefined : watched.write;
  return () => {
    if (watched.write !== working && hasPinoNoop(watched)) {
      return Object.assign(
        new Error("pino stopped writing to the stream after a broken pipe (EPIPE: its reader went away)"),
        { code: "EPIPE" },
      );
    }
    if (watched.destroyed === true) {
      return Object.assign(new Error("the stream was destroyed"), { code: "ERR_STREAM_DESTROYED" });
    }
    return undefined;
  };
}

/** pino's broken-pipe state: the same no-op stands in for both `write` and `end`. */
function hasPinoNoop(stream: { write?: unknown; end?: unknown }): boolean {
  return typeof stream.write === "function" && stream.write === stream.end;
}
