/**
 * Map keys that JavaScript takes for array indexes ("9", "10", an int64 key 3 beside -5): a plain
 * object lists them first, in numeric order, whatever order they were set in. The redacted capture
 * reads a map in the canonical key order ("10" before "9", -5 before 3), and its text keeps that order,
 * so a cut text is still the start of the whole text.
 */
import { describe, expect, it } from "vitest";
import { type PayloadProblems, redactToJson, redactToJsonText } from "../../src/payload/index.js";
import type { FieldShape, MessageShape } from "../../src/rules/message-shape.js";
import { documentedCut } from "./large-messages.js";
import { PutSecretRequestShape } from "./shapes.js";

const LIMIT = 2048;
/** The whole text: a limit no message here reaches. */
const whole = (shape: MessageShape, message: unknown) => redactToJsonText(shape, message, 1e9);

/** message Indexed { map<int64, string> idx = 1; } */
const IndexedShape: MessageShape = {
  typeName: "order.Indexed",
  fields: [
    {
      no: 1,
      name: "idx",
      jsonName: "idx",
      properties: ["idx"],
      sensitive: false,
      kind: "map",
      key: "int64",
      value: { kind: "scalar", scalar: "string" },
    } as unknown as FieldShape,
  ],
};

describe("a map with integer-like keys", () => {
  it("string keys: written in the canonical order, the cut text the start of the whole text", () => {
    const long = "A".repeat(3000);
    const message = { name: "n", labels: { "9": "short", "10": long } };
    expect(whole(PutSecretRequestShape, message)).toBe(`{"name":"n","labels":{"10":"${long}","9":"short"}}`);
    const found: PayloadProblems = { count: 0, first: [] };
    const text = redactToJsonText(PutSecretRequestShape, message, LIMIT, found);
    expect(text).toBe(documentedCut(whole(PutSecretRequestShape, message), LIMIT));
    expect(found).toStrictEqual({ count: 0, first: [] });
    // The same content as redactToJson's value, whose object lists "9" first.
    expect(JSON.parse(whole(PutSecretRequestShape, message))).toStrictEqual(
      redactToJson(PutSecretRequestShape, message),
    );
  });

  it("int64 keys: -5 before 3", () => {
    const long = "B".repeat(3000);
    for (const idx of [
      { "3": "three", "-5": long },
      new Map<unknown, string>([
        [3n, "three"],
        [-5n, long],
      ]),
    ]) {
      const message = { idx };
      expect(whole(IndexedShape, message)).toBe(`{"idx":{"-5":"${long}","3":"three"}}`);
      expect(redactToJsonText(IndexedShape, message, LIMIT)).toBe(
        documentedCut(whole(IndexedShape, message), LIMIT),
      );
      expect(whole(IndexedShape, { idx: { "3": "three", "-5": "b" } })).toBe(
        '{"idx":{"-5":"b","3":"three"}}',
      );
    }
  });

  it("one such key among others moves too: a space before 5, as UTF-8 orders them", () => {
    const message = { labels: { "5": "five", " ": "space" } };
    expect(whole(PutSecretRequestShape, message)).toBe('{"labels":{" ":"space","5":"five"}}');
  });

  it("other text is JSON.stringify's of redactToJson's value, as before", () => {
    const message = { name: "n", labels: { b: "2", a: "1", "": "0", "01": "x" }, version: 7 };
    expect(whole(PutSecretRequestShape, message)).toBe(
      JSON.stringify(redactToJson(PutSecretRequestShape, message)),
    );
  });
});
