/**
 * What a reading visits is bounded by what the message holds and, for a redacted capture, by its 2048
 * bytes: a sparse list (`a.length = 2 ** 32 - 1`, nothing held) is read up to its first hole, and a
 * wrapper's value (a StringValue of 2 KB) counts against the redacted capture's limit as the string
 * it is. Visits are counted through a Proxy, never timed; each output is pinned against the whole
 * JSON of the same message.
 */
import { describe, expect, it } from "vitest";
import {
  encodeCanonical,
  type PayloadProblems,
  redactToJson,
  redactToJsonText,
} from "../../src/payload/index.js";
import type { FieldShape, MessageShape } from "../../src/rules/message-shape.js";
import { documentedCut } from "./large-messages.js";

const LIMIT = 2048;
const problems = (): PayloadProblems => ({ count: 0, first: [] });
const wholeJson = (shape: MessageShape, message: unknown) => JSON.stringify(redactToJson(shape, message));

function field(no: number, name: string, value: object): FieldShape {
  return {
    no,
    name,
    jsonName: name,
    properties: [name],
    sensitive: false,
    repeated: true,
    optional: false,
    oneof: undefined,
    ...value,
  } as unknown as FieldShape;
}

/** message Lists { repeated int32 nums = 1; repeated Item items = 2; repeated StringValue notes = 3; } */
const ItemShape: MessageShape = {
  typeName: "bounded.Item",
  fields: [field(1, "id", { kind: "scalar", scalar: "string", repeated: false })],
};
const ListsShape: MessageShape = {
  typeName: "bounded.Lists",
  fields: [
    field(1, "nums", { kind: "scalar", scalar: "int32" }),
    field(2, "items", { kind: "message", message: () => ItemShape }),
    field(3, "notes", { kind: "wellKnown", type: "google.protobuf.StringValue" }),
  ],
};

/** `list` behind a Proxy that counts the elements read (`list[i]`). */
function counted<T>(list: T[]): { list: T[]; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(list, {
    get(target, key, receiver) {
      if (typeof key === "string" && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { list: proxy, reads: () => reads };
}

/** [1, 2, 3] followed by `holes` holes: what `a.length = n` makes, holding nothing for them. */
function sparse(holes: number): number[] {
  const list = [1, 2, 3];
  list.length = 3 + holes;
  return list;
}

describe("a sparse list", () => {
  it("is read up to its first hole, the rest left out and reported once: digest and JSON", () => {
    const digestList = counted(sparse(1_000_000));
    const found = problems();
    const bytes = encodeCanonical(ListsShape, { nums: digestList.list }, found);
    expect(bytes).toStrictEqual(encodeCanonical(ListsShape, { nums: [1, 2, 3] }));
    expect(digestList.reads()).toBe(4);
    expect(found).toStrictEqual({
      count: 2,
      first: [
        "nums[3]: not a valid int32 (undefined)",
        "nums: left out from index 4, after an invalid element",
      ],
    });

    const jsonList = counted(sparse(1_000_000));
    const text = redactToJsonText(ListsShape, { nums: jsonList.list }, LIMIT);
    expect(text).toBe('{"nums":[1,2,3]}');
    expect(text).toBe(wholeJson(ListsShape, { nums: sparse(1_000_000) }));
    expect(jsonList.reads()).toBe(4);
  });

  it("stops at any invalid element, a hole or a value of the wrong type, in messages too", () => {
    const found = problems();
    const json = redactToJson(
      ListsShape,
      { nums: [1, "x", 3], items: [{ id: "a" }, null, { id: "c" }] },
      found,
    );
    expect(json).toStrictEqual({ nums: [1], items: [{ id: "a" }] });
    expect(found.first).toStrictEqual([
      "nums[1]: not a valid int32 (string)",
      "nums: left out from index 2, after an invalid element",
      "items[1]: message missing",
      "items: left out from index 2, after an invalid element",
    ]);
    // An invalid last element leaves nothing else out: one problem.
    const last = problems();
    expect(redactToJson(ListsShape, { nums: [1, 2, "x"] }, last)).toStrictEqual({ nums: [1, 2] });
    expect(last.first).toStrictEqual(["nums[2]: not a valid int32 (string)"]);
  });
});

describe("wrappers in a redacted capture", () => {
  it("count their value against the limit: 2 elements of 2000 StringValues of 2 KB are read", () => {
    const note = "x".repeat(2000);
    const notes = counted(Array.from({ length: 2000 }, () => note));
    const text = redactToJsonText(ListsShape, { notes: notes.list }, LIMIT);
    expect(text).toBe(documentedCut(wholeJson(ListsShape, { notes: Array(2000).fill(note) }), LIMIT));
    expect(notes.reads()).toBeLessThanOrEqual(2);
  });

  it("in proto-loader's form ({ value }) too", () => {
    const note = "y".repeat(1500);
    const notes = counted(Array.from({ length: 2000 }, () => ({ value: note })));
    const text = redactToJsonText(ListsShape, { notes: notes.list }, LIMIT);
    expect(text).toBe(documentedCut(wholeJson(ListsShape, { notes: Array(2000).fill(note) }), LIMIT));
    expect(notes.reads()).toBeLessThanOrEqual(2);
  });
});
