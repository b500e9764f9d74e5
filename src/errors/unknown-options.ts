import { AuditConfigError } from "./index.js";

/**
 * Throws an AuditConfigError naming the first option of `options` that `known` does not list, with
 * the known name it most likely misspells (`flushIntervalMS` → `flushIntervalMs`): an unknown name
 * is a setting that never applies, such as a `failMode` or `redactPatterns` typed wrong. Keys whose
 * value is undefined are let through (a spread of optional settings).
 * @internal
 */
export function rejectUnknownOptions(label: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key) || (options as Record<string, unknown>)[key] === undefined) continue;
    const near = closest(key, known);
    const hint = near === undefined ? `; known options: ${known.join(", ")}` : ` (did you mean \`${near}\`?)`;
    throw new AuditConfigError(`${label}: unknown option \`${printable(key)}\`${hint}`);
  }
}

/**
 * The known name equal to `key` but for case, at most two edits away, or that `key` begins without its
 * unit (`clockTolerance` for `clockToleranceSec`): the nearest, else undefined.
 */
function closest(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const other = name.toLowerCase();
    const distance =
      other === lower
        ? 0
        : lower.length >= 4 &&
            other.startsWith(lower) &&
            /^(ms|sec|bytes|events)$/.test(other.slice(lower.length))
          ? 1
          : editDistance(lower, other, bestDistance);
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

/** Levenshtein distance of `a` and `b`, or `limit` when it is at least that. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return Math.min(previous[b.length] ?? limit, limit);
}

/** A key as the message shows it: cut at 40 characters, control characters escaped. */
function printable(key: string): string {
  const cut = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  return JSON.stringify(cut).slice(1, -1);
}
