import { describe, expect, it } from "vitest";
import { errorCode } from "../../src/authz/error-code.js";

describe("errorCode", () => {
  it.each([
    [
      "its code when that is a short identifier",
      Object.assign(new Error("token=abc"), { code: "ECONNREFUSED" }),
      "ECONNREFUSED",
    ],
    ["a numeric code", { code: 14 }, "14"],
    ["its class name when it has no code", new TypeError("secret in message"), "TypeError"],
    [
      "its class name when its code is not an identifier",
      Object.assign(new Error("x"), { code: "a b" }),
      "Error",
    ],
    ["unknown_error for a plain object without a code", { message: "secret" }, "unknown_error"],
    ["unknown_error for a string", "secret", "unknown_error"],
    ["unknown_error for undefined", undefined, "unknown_error"],
  ])("gives %s", (_name, error, code) => {
    expect(errorCode(error)).toBe(code);
  });

  it("reads a class name once, so a getter cannot pass the check and then return more", () => {
    let reads = 0;
    const error = new Error("engine down");
    Object.defineProperty(error, "name", { get: () => (++reads === 1 ? "EngineError" : "x ".repeat(500)) });
    expect(errorCode(error)).toBe("EngineError");
    expect(reads).toBe(1);
  });
});
