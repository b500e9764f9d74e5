import { InvalidArgumentError } from "commander";

const RELATIVE = /^(\d{1,9})(s|m|h|d|w)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const ISO = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** What a time option accepts, for help texts and error messages. */
export const TIME_FORMS =
  "an ISO time (2026-11-23, 2026-11-23T10:00:00Z) or a time ago (90s, 30m, 24h, 7d, 2w)";

/**
 * Reads a time option: an ISO 8601 date or date-time (UTC when it has no zone, so the same command
 * means the same on every machine) or a relative time ago such as `24h` or `7d`.
 * Returns undefined when the text is neither.
 */
export function parseTime(text: string, now: Date = new Date()): Date | undefined {
  const relative = RELATIVE.exec(text);
  if (relative !== null) {
    const ms = Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
    return new Date(now.getTime() - ms);
  }
  const iso = ISO.exec(text);
  if (iso === null) return undefined;
  const zoned = text.includes("T") && iso[1] === undefined ? `${text}Z` : text;
  const time = new Date(zoned);
  return Number.isFinite(time.getTime()) ? time : undefined;
}

/** A commander argument parser for time options; a bad value is a usage error naming the option. */
export function timeArgument(text: string): Date {
  const time = parseTime(text);
  if (time === undefined) throw new InvalidArgumentError(`Use ${TIME_FORMS}.`);
  return time;
}
