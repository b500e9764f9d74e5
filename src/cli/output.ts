import type { Writable } from "node:stream";
import { terminalSafeJson } from "./safe-text.js";

/**
 * Writes `text` to `out`, and when `out` buffers more than its highWaterMark (a slow pipe), resolves
 * only once it has drained: a command that awaits every write holds at most one buffer of output.
 */
export function write(text: string, out: Writable = process.stdout): Promise<void> {
  if (out.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    // A stream that fails or closes never drains: main.ts reports its error; nothing is left to wait for.
    const done = () => {
      out.off("drain", done);
      out.off("close", done);
      out.off("error", done);
      resolve();
    };
    out.on("drain", done);
    out.on("close", done);
    out.on("error", done);
  });
}

/** Writes one line to stdout; awaited, it waits for a full pipe to drain (`write`). */
export function print(text: string, out?: Writable): Promise<void> {
  return write(`${text}\n`, out);
}

/**
 * Writes one value as one JSON line to stdout. The strings in it are exact; characters that could
 * control a terminal are written as JSON escapes (`terminalSafeJson`).
 */
export function printJson(value: unknown, out?: Writable): Promise<void> {
  return print(jsonText(value), out);
}

/** A value as JSON text, safe to print (`terminalSafeJson`). */
export function jsonText(value: unknown): string {
  return terminalSafeJson(JSON.stringify(value));
}
