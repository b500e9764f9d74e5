import { once } from "node:events";
import pino, { type DestinationStream, type Level, type Logger } from "pino";
import { AuditConfigError } from "../errors/index.js";
import { LineBatcher, type SonicBoomLike } from "./line-batcher.js";

/**
 * The pino logger a log emitter writes to, and what it needs to flush, close and bound it.
 * @internal
 */
export interface LogDestination {
  logger: Logger;
  /** The stream pino writes to (flushed on `flush()`). */
  stream: unknown;
  /** The destination the emitter opened itself and closes on `close()`. */
  ownedStream?: SonicBoomLike;
  batcher?: LineBatcher;
  /**
   * Bytes handed to the destination and not yet written. 0 for a stream whose buffer cannot be read
   * (a pino transport or multistream): those are not bounded by the emitter.
   */
  waitingBytes: () => number;
}

/** Where a log emitter writes: the parts of its options `resolveLogger` reads (documented there). */
export interface LogTarget {
  logger?: Logger | undefined;
  destination?: string | number | DestinationStream | undefined;
  sync?: boolean | undefined;
}

/** Mode of a log file the emitter creates: only its owner may read it (audit lines name people). */
const LOG_FILE_MODE = 0o600;

/**
 * Builds the logger of a log emitter from its options. Throws an AuditConfigError for a missing,
 * doubled or unusable logger or destination.
 * @internal
 */
export function resolveLogger(
  options: LogTarget,
  level: Level,
  onBatchError: (error: unknown) => void,
): LogDestination {
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError("log emitter: options must be an object with a `logger` or a `destination`");
  }
  const { logger, destination } = options;
  if (logger !== undefined && destination !== undefined) {
    throw new AuditConfigError("log emitter: give either `logger` or `destination`, not both");
  }
  if (logger !== undefined) {
    if (typeof logger !== "object" || logger === null || typeof logger.isLevelEnabled !== "function") {
      throw new AuditConfigError("log emitter: `logger` must be a pino logger");
    }
    const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
    return { logger, stream, waitingBytes: waitingBytesOf(stream) };
  }
  if (typeof destination === "string" || typeof destination === "number") {
    if (destination === "") throw new AuditConfigError("log emitter: `destination` must not be empty");
    const sync = options.sync ?? false;
    const ownedStream = pino.destination({
      dest: destination,
      sync,
      mkdir: true,
      mode: LOG_FILE_MODE,
    }) as unknown as SonicBoomLike;
    const waitingBytes = () => ownedStream._len;
    if (sync) return { logger: pino({ level }, ownedStream), stream: ownedStream, ownedStream, waitingBytes };
    // Asynchronous mode gathers ~8 KiB before a write (at least every 250 ms, and on flush()/close()):
    // one write per line cost ~100 µs of thread-pool CPU per event on a busy server (bench/).
    const batcher = new LineBatcher(ownedStream, onBatchError);
    return {
      logger: pino({ level }, batcher),
      stream: ownedStream,
      ownedStream,
      batcher,
      // Lines gather in the batcher (counted in characters) while SonicBoom writes; SonicBoom counts
      // what it holds in bytes. A destination that does not keep up piles up in both.
      waitingBytes: () => batcher.waitingChars + ownedStream._len,
    };
  }
  if (typeof destination === "object" && destination !== null && typeof destination.write === "function") {
    return {
      logger: pino({ level }, destination),
      stream: destination,
      waitingBytes: waitingBytesOf(destination),
    };
  }
  throw new AuditConfigError("log emitter: needs a pino `logger` or a `destination` (path, fd or stream)");
}

/** Reads the backlog of a SonicBoom (pino.destination) or a Node Writable; other streams report 0. */
function waitingBytesOf(stream: unknown): () => number {
  if (typeof stream !== "object" || stream === null) return () => 0;
  if (isSonicBoom(stream) && typeof stream._len === "number") return () => stream._len;
  const writable = stream as { writableLength?: unknown };
  if (typeof writable.writableLength === "number") return () => writable.writableLength as number;
  return () => 0;
}

function isSonicBoom(stream: unknown): stream is SonicBoomLike {
  return (
    typeof stream === "object" && stream !== null && typeof (stream as SonicBoomLike).flushSync === "function"
  );
}

/**
 * Writes out what pino's stream holds: synchronously for SonicBoom (its `flush(cb)` can call back
 * before the data is written), through `logger.flush` for any other stream.
 * @internal
 */
export async function flushStream(logger: Logger, stream: unknown): Promise<void> {
  if (isSonicBoom(stream)) {
    if (stream.fd < 0) await once(stream, "ready"); // rejects if the file cannot be opened
    // An asynchronous write may be in flight; flushSync would write the later lines before it. A line
    // written as it ends may start the next one.
    while (stream._writing) await once(stream, "drain");
    stream.flushSync();
    return;
  }
  // Another kind of stream (a transport, a multistream, the user's Writable): ask pino to flush it.
  await new Promise<void>((resolve, reject) => logger.flush((error) => (error ? reject(error) : resolve())));
}
