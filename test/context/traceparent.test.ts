import { describe, expect, it } from "vitest";
import { parseTraceparent } from "../../src/context/traceparent.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

describe("parseTraceparent", () => {
  it("reads trace and span ids from a version 00 header", () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toStrictEqual({ traceId: TRACE, spanId: SPAN });
  });

  it("accepts a later version with extra fields, as W3C asks", () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-00-what-comes-next`)).toStrictEqual({
      traceId: TRACE,
      spanId: SPAN,
    });
  });

  it.each([
    ["empty", ""],
    ["garbage", "not a traceparent"],
    ["upper-case hex", `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ["short trace id", `00-${TRACE.slice(1)}-${SPAN}-01`],
    ["long span id", `00-${TRACE}-${SPAN}0-01`],
    ["forbidden version ff", `ff-${TRACE}-${SPAN}-01`],
    ["all-zero trace id", `00-${"0".repeat(32)}-${SPAN}-01`],
    ["all-zero span id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["extra fields on version 00", `00-${TRACE}-${SPAN}-01-extra`],
    ["non-hex characters", `00-${TRACE.slice(0, 31)}g-${SPAN}-01`],
    ["non-ASCII characters", `00-${TRACE.slice(0, 31)}é-${SPAN}-01`],
    ["oversized", `01-${TRACE}-${SPAN}-01-${"a".repeat(10_000)}`],
  ])("refuses %s", (_name, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});
