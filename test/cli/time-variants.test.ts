// The time forms tools print that differ from the strict ISO form but mean one time only: RFC 3339
// allows a space or `t` for `T` and `z` for `Z`; ISO 8601 has the comma as the decimal sign
// (`date -Ins`); `date +%FT%T%z` prints the offset without its colon, and an offset may give its hours alone.
import { describe, expect, it } from "vitest";
import { parseTime, TIME_FORMS } from "../../src/cli/time.js";

describe("parseTime reads the unambiguous variants of ISO times", () => {
  it.each([
    ["2026-11-20 05:30", "2026-11-20T05:30:00.000Z"],
    ["2026-11-20 05:30:15Z", "2026-11-20T05:30:15.000Z"],
    ["2026-11-20t05:30:15z", "2026-11-20T05:30:15.000Z"],
    ["2026-11-20T05:30:15,250Z", "2026-11-20T05:30:15.250Z"],
    ["2026-11-20T05:30:15,123456789+00:00", "2026-11-20T05:30:15.124Z"],
    ["2026-11-20T05:30:15+0000", "2026-11-20T05:30:15.000Z"],
    ["2026-11-20T05:30:15+0230", "2026-11-20T03:00:15.000Z"],
    ["2026-11-20T05:30:15-0130", "2026-11-20T07:00:15.000Z"],
    ["2026-11-20T05:30+02", "2026-11-20T03:30:00.000Z"],
    ["2026-11-20 05:30:15-05", "2026-11-20T10:30:15.000Z"],
  ])("%s is %s", (text, iso) => {
    expect(parseTime(text)).toStrictEqual({ time: new Date(iso) });
  });

  it("checks the ranges of those parts as of any other", () => {
    expect(parseTime("2026-11-20 24:00")).toStrictEqual({
      problem: "The hour 24 is out of range: use 00 to 23.",
    });
    expect(parseTime("2026-11-20T10:00+2400")).toStrictEqual({
      problem: "The zone offset hour 24 is out of range: use 00 to 23.",
    });
  });

  it.each([
    "2026-11-20  05:30", // two spaces
    "2026-11-20 05",
    "2026-11-20T05:30+2",
    "2026-11-20T05:30+02:",
    "2026-11-20T05:30+020",
    "2026-11-20T05:30:15,Z",
    "2026-11-20T05:30Z+02",
    "2026-11-20 05:30 UTC",
  ])("still refuses %j", (text) => {
    expect(parseTime(text)).toStrictEqual({ problem: `Use ${TIME_FORMS}.` });
  });
});
