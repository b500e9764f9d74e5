// A proto2 field at its declared default counts as absent in the redacted JSON as in the digest:
// ts-proto fills the default in for an absent field, proto-loader (without `defaults`) does not.
import { describe, expect, it } from "vitest";
import { encodeCanonical, type PayloadProblems, redactToJson } from "../../src/payload/index.js";
import type { FieldShape, MessageShape } from "../../src/rules/message-shape.js";

/** A proto2 `optional` scalar with `[default = …]`, as the plugin writes its shape. */
function field(no: number, name: string, scalar: "int64" | "double" | "string", fallback: string | number) {
  const shape: FieldShape = {
    no,
    name,
    jsonName: name,
    sensitive: false,
    kind: "scalar",
    scalar,
    repeated: false,
    optional: true,
    oneof: undefined,
    default: fallback,
  };
  return shape;
}

/** message D { optional int64 big = 1 [default = 12345678901]; optional double nan = 2 [default = nan]; optional string s = 3 [default = "dflt"]; } */
const DShape: MessageShape = {
  typeName: "p2.D",
  fields: [
    field(1, "big", "int64", "12345678901"),
    field(2, "nan", "double", 0 / 0),
    field(3, "s", "string", "dflt"),
  ],
};

const problems = (): PayloadProblems => ({ count: 0, first: [] });

describe("a declared default", () => {
  it.each([
    ["ts-proto", { big: 12345678901, nan: Number.NaN, s: "dflt" }],
    ["proto-loader longs: String", { big: "12345678901", nan: "NaN", s: "dflt" }],
    [
      "proto-loader Long (low and high 32 bits)",
      { big: { low: 3755744309 | 0, high: 2, unsigned: false }, nan: Number.NaN, s: "dflt" },
    ],
    ["a bigint", { big: 12345678901n, nan: Number.NaN, s: "dflt" }],
  ])("is left out of the JSON and the encoding, as an absent field is (%s)", (_, message) => {
    const found = problems();
    expect(redactToJson(DShape, message, found)).toEqual({});
    expect(encodeCanonical(DShape, message, found)).toEqual(new Uint8Array());
    expect(found.count).toBe(0);
  });

  it("is only that value: the zero value and others are written", () => {
    const message = { big: "0", nan: 0, s: "" };
    expect(redactToJson(DShape, message)).toEqual({ big: "0", nan: 0, s: "" });
    expect(redactToJson(DShape, { big: "12345678902", nan: 1.5, s: "dflt2" })).toEqual({
      big: "12345678902",
      nan: 1.5,
      s: "dflt2",
    });
  });
});
