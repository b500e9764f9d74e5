/** How long an ending command waits for stdout and stderr to be taken before it exits all the same. */
const DRAIN_MS = 2000;

/**
 * Exits with `process.exitCode` once stdout and stderr are written out, or after 2 s: a reader that
 * stopped reading (a stalled journald), or a socket the NATS client leaves open after a connect that
 * timed out, would otherwise keep the process running for good. Called by main.ts once the command
 * ended and its error, if any, was reported and the exit code set.
 */
export function exitWhenWritten(): void {
  setImmediate(() => {
    const pending = [process.stdout, process.stderr].filter((stream) => stream.writableLength > 0);
    if (pending.length === 0) process.exit();
    let left = pending.length;
    for (const stream of pending)
      stream.once("drain", () => {
        left -= 1;
        if (left === 0) process.exit();
      });
    setTimeout(() => process.exit(), DRAIN_MS);
  });
}
