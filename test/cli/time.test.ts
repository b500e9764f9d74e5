import { describe, expect, it } from "vitest";
import { parseTime, TIME_FORMS } from "../../src/cli/time.js";

const NOW = new Date("2026-11-23T12:00:00.000Z");

describe("parseTime", () => {
  it.each([
    ["90s", "2026-11-23T11:58:30.000Z"],
    ["30m", "2026-11-23T11:30:00.000Z"],
    ["24h", "2026-11-22T12:00:00.000Z"],
    ["7d", "2026-11-16T12:00:00.000Z"],
    ["2w", "2026-11-09T12:00:00.000Z"],
    ["2026-11-20", "2026-11-20T00:00:00.000Z"],
    ["2026-11-20T05:30", "2026-11-20T05:30:00.000Z"],
    ["2026-11-20T05:30:15.250", "2026-11-20T05:30:15.250Z"],
    // Rounded up: a bound between two milliseconds lies before the later one.
    ["2026-11-20T05:30:15.250999999Z", "2026-11-20T05:30:15.251Z"],
    ["2026-11-20T05:30:59.9991Z", "2026-11-20T05:31:00.000Z"],
    ["2026-11-20T05:30:15.250000000Z", "2026-11-20T05:30:15.250Z"],
    ["2026-11-20T05:30:00Z", "2026-11-20T05:30:00.000Z"],
    ["2026-11-20T05:30:00+02:00", "2026-11-20T03:30:00.000Z"],
    ["2026-11-20T23:30:00-01:30", "2026-11-21T01:00:00.000Z"],
    ["2028-02-29", "2028-02-29T00:00:00.000Z"],
    ["2000-02-29T23:59:59Z", "2000-02-29T23:59:59.000Z"],
    ["0099-12-31", "0099-12-31T00:00:00.000Z"],
    ["0001-01-01", "0001-01-01T00:00:00.000Z"],
    ["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"],
  ])("reads %s (a time without a zone is UTC)", (text, iso) => {
    const parsed = parseTime(text, NOW);
    expect("time" in parsed && parsed.time.toISOString()).toBe(iso);
  });

  it.each([
    ["2026-02-30", "There is no day 30 in 2026-02: it has 28 days."],
    ["2026-02-29", "There is no day 29 in 2026-02: it has 28 days."],
    ["1900-02-29", "There is no day 29 in 1900-02: it has 28 days."],
    ["2026-04-31T00:00", "There is no day 31 in 2026-04: it has 30 days."],
    ["2026-11-00", "There is no day 00 in 2026-11: it has 30 days."],
    ["2026-13-01", "There is no month 13: use 01 to 12."],
    ["2026-00-10", "There is no month 00: use 01 to 12."],
    ["2026-13-45", "There is no month 13: use 01 to 12."],
    ["2026-11-20T24:00", "The hour 24 is out of range: use 00 to 23."],
    ["2026-11-20T23:61", "The minute 61 is out of range: use 00 to 59."],
    ["2026-11-20T24:61", "The hour 24 is out of range: use 00 to 23."],
    ["2026-11-20T10:00:60Z", "The second 60 is out of range: use 00 to 59."],
    ["2026-11-20T10:00+24:00", "The zone offset hour 24 is out of range: use 00 to 23."],
    ["2026-11-20T10:00+02:60", "The zone offset minute 60 is out of range: use 00 to 59."],
    ["999999999w", "That is further back than a date can be."],
    ["0000-01-01", "There is no year 0000: use 0001 to 9999."],
    // Rounded up to whole milliseconds, or moved by its zone, a time must stay within the years too.
    ["9999-12-31T23:59:59.9999Z", "That is after 9999 in UTC: use years 0001 to 9999."],
    ["9999-12-31T23:30:00-01:00", "That is after 9999 in UTC: use years 0001 to 9999."],
    ["0001-01-01T00:30:00+01:00", "That is before 0001 in UTC: use years 0001 to 9999."],
    ...["", "yesterday", "24", "5y", "-3h", "1.5h", "20261120", "Nov 20 2026"].map((text) => [
      text,
      `Use ${TIME_FORMS}.`,
    ]),
  ])("refuses %j: %s", (text, problem) => {
    expect(parseTime(text, NOW)).toStrictEqual({ problem });
  });
});
