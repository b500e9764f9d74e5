import { InvalidArgumentError } from "commander";

const RELATIVE = /^(\d{1,9})(s|m|h|d|w)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
/**
 * Date, then optionally time (minutes, seconds, fraction) and zone; ranges are checked by `isoTime`.
 * Also the unambiguous variants that tools print: a space or `t` for `T` and `z` for `Z` (RFC 3339
 * allows them), a comma before the fraction (ISO 8601's own; `date -Ins`), and a zone offset without
 * its colon or its minutes (`+0200`, `+02`; `date +%FT%T%z`).
 */
const ISO =
  /^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})(?:[Tt ](?<hour>\d{2}):(?<minute>\d{2})(?::(?<second>\d{2})(?:[.,](?<fraction>\d{1,9}))?)?(?:[Zz]|(?<sign>[+-])(?<zoneHour>\d{2})(?::?(?<zoneMinute>\d{2}))?)?)?$/;
/** The largest distance from 1970 a Date can hold, in ms. */
const MAX_DATE_MS = 8.64e15;
/** The highest value of each time part, and its name in error messages. */
const TIME_PARTS = [
  ["hour", 23, "hour"],
  ["minute", 59, "minute"],
  ["second", 59, "second"],
  ["zoneHour", 23, "zone offset hour"],
  ["zoneMinute", 59, "zone offset minute"],
] as const;

/** What a time option accepts, for help texts and error messages. */
export const TIME_FORMS =
  "an ISO time (2026-11-23, 2026-11-23T10:00:00Z) or a time ago (90s, 30m, 24h, 7d, 2w)";

/** A time option's value, or what is wrong with it (a sentence for the error message). */
export type ParsedTime = { time: Date } | { problem: string };

/**
 * Reads a time option strictly: an ISO 8601 date or date-time (UTC when it has no zone, so the same
 * command means the same on every machine) or a relative time ago such as `24h` or `7d`. A date that
 * does not exist (2026-02-30, 2026-13-01) or a time out of range (24:00, 10:61) is a problem, never
 * rolled over into another day.
 */
export function parseTime(text: string, now: Date = new Date()): ParsedTime {
  const relative = RELATIVE.exec(text);
  if (relative !== null) {
    const ms = now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS];
    return ms >= -MAX_DATE_MS
      ? { time: new Date(ms) }
      : { problem: "That is further back than a date can be." };
  }
  const iso = ISO.exec(text);
  if (iso?.groups === undefined) return { problem: `Use ${TIME_FORMS}.` };
  return isoTime(iso.groups);
}

/** The time the ISO parts name, each part checked first (a Date would roll 2026-02-30 into March). */
function isoTime(parts: Record<string, string | undefined>): ParsedTime {
  const n = (name: string) => Number(parts[name] ?? 0);
  const [year, month, day] = [n("year"), n("month"), n("day")];
  if (year < 1) return { problem: `There is no year ${parts.year}: use 0001 to 9999.` };
  if (month < 1 || month > 12) return { problem: `There is no month ${parts.month}: use 01 to 12.` };
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) {
    return { problem: `There is no day ${parts.day} in ${parts.year}-${parts.month}: it has ${days} days.` };
  }
  for (const [part, max, name] of TIME_PARTS) {
    if (n(part) > max) return { problem: `The ${name} ${parts[part]} is out of range: use 00 to ${max}.` };
  }
  const time = new Date(0);
  time.setUTCFullYear(year, month - 1, day); // not Date.UTC, which reads years 0-99 as 1900-1999
  const fraction = (parts.fraction ?? "").padEnd(3, "0");
  // Events have whole milliseconds, and every time given is a bound (`--from` includes it, `--to` and
  // `--before` do not): a finer fraction rounds up, so an event of that millisecond falls on its side.
  const ms = Number(fraction.slice(0, 3)) + (/[1-9]/.test(fraction.slice(3)) ? 1 : 0);
  time.setUTCHours(n("hour"), n("minute"), n("second"), ms);
  const offsetMinutes = (parts.sign === "-" ? -1 : 1) * (n("zoneHour") * 60 + n("zoneMinute"));
  const utc = new Date(time.getTime() - offsetMinutes * 60_000);
  // The rounding or the zone can carry a time past the ends of 0001-9999 (9999-12-31T23:59:59.9999Z).
  const utcYear = utc.getUTCFullYear();
  if (utcYear < 1 || utcYear > 9999) {
    return {
      problem: `That is ${utcYear < 1 ? "before 0001" : "after 9999"} in UTC: use years 0001 to 9999.`,
    };
  }
  return { time: utc };
}

function daysInMonth(year: number, month: number): number {
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month, 0); // day 0 of the next month
  return lastDay.getUTCDate();
}

/** A commander argument parser for time options; commander names the option in the message. */
export function timeArgument(text: string): Date {
  const parsed = parseTime(text);
  if ("problem" in parsed) throw new InvalidArgumentError(parsed.problem);
  return parsed.time;
}
