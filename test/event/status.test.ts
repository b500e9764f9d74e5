import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { durationFromMs, durationToMs, toResult } from "../../src/event/builders.js";
import { statusName } from "../../src/event/status.js";

describe("statusName", () => {
  it("names every gRPC status number", () => {
    expect([0, 1, 4, 7, 14, 16].map(statusName)).toStrictEqual([
      "OK",
      "CANCELLED",
      "DEADLINE_EXCEEDED",
      "PERMISSION_DENIED",
      "UNAVAILABLE",
      "UNAUTHENTICATED",
    ]);
  });

  it("agrees with grpc-js on the name of every status code", () => {
    const codes = Object.values(status).filter((code) => typeof code === "number");
    expect(codes).toHaveLength(17);
    expect(codes.map((code) => statusName(code))).toStrictEqual(codes.map((code) => status[code]));
  });

  it("keeps known names and maps unknown numbers and names to UNKNOWN", () => {
    expect(statusName("NOT_FOUND")).toBe("NOT_FOUND");
    expect(statusName(17)).toBe("UNKNOWN");
    expect(statusName(-1)).toBe("UNKNOWN");
    expect(statusName("not_found")).toBe("UNKNOWN");
  });
});

describe("toResult", () => {
  it("defaults the code from success and the failure code", () => {
    expect(toResult({ success: true })).toStrictEqual({ success: true, code: "OK", message: "" });
    expect(toResult({ success: false }, "UNAUTHENTICATED")).toStrictEqual({
      success: false,
      code: "UNAUTHENTICATED",
      message: "",
    });
    expect(toResult({ success: false, code: 5, message: "no such project" })).toStrictEqual({
      success: false,
      code: "NOT_FOUND",
      message: "no such project",
    });
  });
});

describe("durations", () => {
  it("converts milliseconds to a protobuf Duration and back", () => {
    expect(durationFromMs(1500.25)).toStrictEqual({ seconds: 1, nanos: 500_250_000 });
    expect(durationToMs({ seconds: 1, nanos: 500_250_000 })).toBe(1500.25);
    expect(durationFromMs(-3)).toStrictEqual({ seconds: 0, nanos: 0 });
  });
});
