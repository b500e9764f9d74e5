import { terminalSafeJson } from "./safe-text.js";

/** Writes one line to stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/**
 * Writes one value as one JSON line to stdout. The strings in it are exact; characters that could
 * control a terminal are written as JSON escapes (`terminalSafeJson`).
 */
export function printJson(value: unknown): void {
  print(terminalSafeJson(JSON.stringify(value)));
}
