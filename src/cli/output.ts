/** Writes one line to stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Writes one value as one JSON line to stdout. */
export function printJson(value: unknown): void {
  print(JSON.stringify(value));
}
