import { describe, expect, it } from "vitest";
import { parseTime } from "../../src/cli/time.js";

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
    ["2026-11-20T05:30:00Z", "2026-11-20T05:30:00.000Z"],
    ["2026-11-20T05:30:00+02:00", "2026-11-20T03:30:00.000Z"],
  ])("reads %s (a time without a zone is UTC)", (text, iso) => {
    expect(parseTime(text, NOW)?.toISOString()).toBe(iso);
  });

  it.each([
    "",
    "yesterday",
    "24",
    "5y",
    "-3h",
    "1.5h",
    "2026-13-45",
    "20261120",
    "2026-11-20 05:30",
    "Nov 20 2026",
  ])("refuses %j", (text) => {
    expect(parseTime(text, NOW)).toBeUndefined();
  });
});
