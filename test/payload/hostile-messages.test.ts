/**
 * What reading a hostile message costs: a redacted capture reads no more of 10 MB of base64 or a map of
 * 200,000 entries than its 2048 bytes show, a reading builds no path text for the values it reads
 * without a problem, and the digest's map sort and 64-bit integers cost no more than linear (but for
 * the sort's comparisons). Costs are counted (calls, values read), never timed; each output is pinned
 * against the whole JSON or the plain encoding of the same message.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  encodeCanonical,
  type PayloadProblems,
  redactToJson,
  redactToJsonText,
} from "../../src/payload/index.js";
import type { FieldShape, MessageShape } from "../../src/rules/message-shape.js";
import { PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { documentedCut, NodeShape, tree } from "./large-messages.js";
import { CANARY, putSecretRequest } from "./messages.js";
import { PutSecretRequestShape } from "./shapes.js";

const LIMIT = 2048;
const problems = (): PayloadProblems => ({ count: 0, first: [] });
const wholeJson = (shape: MessageShape, message: unknown) => JSON.stringify(redactToJson(shape, message));

afterEach(() => {
  vi.restoreAllMocks();
});

/** The longest string Buffer.from decoded as base64 while `run` ran. */
function longestBase64Decoded(run: () => void): number {
  const from = vi.spyOn(Buffer, "from");
  run();
  const lengths = (from.mock.calls as unknown[][])
    .filter(([value, encoding]) => typeof value === "string" && encoding === "base64")
    .map(([value]) => String(value).length);
  from.mockRestore();
  return Math.max(0, ...lengths);
}

/** `count` bytes of a pattern, as base64 (proto-loader's `bytes: String`). */
const base64Of = (count: number) => {
  const bytes = Buffer.alloc(count);
  for (let i = 0; i < count; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes.toString("base64");
};

describe("bytes given as a base64 string", () => {
  const salt = base64Of(10_000_000); // 13.3 MB of text

  it("are decoded only as far as the JSON shows them: 2.7 KB of a 13 MB string", () => {
    const message = { ...putSecretRequest(), name: "", salt };
    let out = "";
    const decoded = longestBase64Decoded(() => {
      out = redactToJsonText(PutSecretRequestShape, message, LIMIT);
    });
    expect(decoded).toBeLessThanOrEqual(2052); // ceil(2049 / 4) * 4 characters
    expect(out).toBe(documentedCut(wholeJson(PutSecretRequestShape, message), LIMIT));
  });

  it("in a wrapper (BytesValue) too, which is read whole but for its bytes", () => {
    const shape = shapeOf("hostile.Wrapped", [
      field(1, "data", { kind: "wellKnown", type: "google.protobuf.BytesValue" }),
    ]);
    for (const data of [salt, { value: salt }]) {
      let out = "";
      const decoded = longestBase64Decoded(() => {
        out = redactToJsonText(shape, { data }, LIMIT);
      });
      expect(decoded).toBeLessThanOrEqual(2052);
      expect(out).toBe(documentedCut(wholeJson(shape, { data }), LIMIT));
    }
  });

  it("give the same text as the whole decoding, whatever follows or precedes the part shown", () => {
    const start = base64Of(3000);
    const tails = ["", "=", "==QUJD", " \n\tQUJD", "Q", "QU", "-_-_", "!!!", "\u00e9QUJD", "QUJD=QUJD"];
    const heads = ["", " ", "\n", "=", "-_", "QUJD\nQUJD"];
    for (const head of heads) {
      for (const tail of tails) {
        const message = { name: "", salt: `${head}${start}${tail}` };
        for (const limit of [14, 100, 2048, 4100]) {
          const out = redactToJsonText(PutSecretRequestShape, message, limit);
          expect(out, `${JSON.stringify(head)} + ${JSON.stringify(tail)}, ${limit}`).toBe(
            documentedCut(wholeJson(PutSecretRequestShape, message), limit),
          );
        }
      }
    }
  });

  it("are decoded whole for a digest, which covers every byte", () => {
    const message = { ...putSecretRequest(), salt };
    let bytes: Uint8Array = new Uint8Array();
    const decoded = longestBase64Decoded(() => {
      bytes = encodeCanonical(PutSecretRequestShape, message);
    });
    expect(decoded).toBe(salt.length);
    const cleared = { ...message, value: "", salt: Buffer.from(salt, "base64") };
    expect(bytes.length).toBeGreaterThan(10_000_000);
    expect(Buffer.from(bytes).subarray(-100)).toStrictEqual(
      Buffer.from(PutSecretRequest.encode(PutSecretRequest.fromPartial(cleared)).finish()).subarray(-100),
    );
  });
});

/** `target` behind a Proxy counting the property values read (not the keys listed). */
function valueReads<T extends object>(target: T): { proxy: T; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(target, {
    get(object, key, receiver) {
      reads++;
      return Reflect.get(object, key, receiver);
    },
  });
  return { proxy, reads: () => reads };
}

describe("a map of 200,000 entries", () => {
  const labels: Record<string, string> = {};
  for (let i = 0; i < 200_000; i++) labels[`k${(i * 7919) % 200_000}`] = `value-${i}`;

  it("has only the values its JSON shows read, in key order, as an object or a Map", () => {
    // The whole JSON starts as that of its first 400 entries in key order (ASCII keys: UTF-16 order is
    // UTF-8 order) for far more than 2048 bytes.
    const first = Object.keys(labels).sort().slice(0, 400);
    const start = Object.fromEntries(first.map((key) => [key, labels[key]]));
    const whole = documentedCut(wholeJson(PutSecretRequestShape, { name: "n", labels: start }), LIMIT);
    const asObject = valueReads(labels);
    const map = new Map(Object.entries(labels));
    let mapReads = 0;
    const get = map.get.bind(map);
    map.get = (key: string) => {
      mapReads++;
      return get(key);
    };
    expect(redactToJsonText(PutSecretRequestShape, { name: "n", labels: asObject.proxy }, LIMIT)).toBe(whole);
    expect(redactToJsonText(PutSecretRequestShape, { name: "n", labels: map }, LIMIT)).toBe(whole);
    expect(whole).toContain('"labels":{"k0":"value-0","k1":"value-');
    expect(asObject.reads()).toBeLessThan(300);
    expect(mapReads).toBeLessThan(300);
  });

  it("of messages, reads only the messages shown", () => {
    const byHost: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) {
      byHost[`h${(i * 7919) % 100_000}`] = { username: `u${i}`, password: CANARY, kind: i % 3 };
    }
    const counted = valueReads(byHost);
    const out = redactToJsonText(PutSecretRequestShape, { byHost: counted.proxy }, LIMIT);
    expect(out).toBe(documentedCut(wholeJson(PutSecretRequestShape, { byHost }), LIMIT));
    expect(counted.reads()).toBeLessThan(300);
    expect(out).not.toContain(CANARY);
  });
});

describe("map keys in the canonical order", () => {
  // Surrogate pairs sort after U+E000–U+FFFF in UTF-8 (not in UTF-16), a lone surrogate as U+FFFD.
  const KEYS = [
    "",
    "a",
    "ab",
    "b",
    "\uffff",
    "\ue000",
    "😀",
    "\ud800",
    "\ufffd",
    "\udc00x",
    "é",
    "\u0000",
    "aé",
    "a😀",
  ];

  it("are sorted as their UTF-8 bytes, equal bytes in the order the map holds them", () => {
    const order = (keys: string[]) =>
      keys
        .map((key, i) => ({ key, i, bytes: Buffer.from(key) }))
        .sort((x, y) => Buffer.compare(x.bytes, y.bytes) || x.i - y.i)
        .map(({ key }) => key);
    for (let seed = 0; seed < 50; seed++) {
      const keys = [...KEYS].sort((x, y) => ((x.length * 31 + seed * (y.charCodeAt(0) | 0)) % 7) - 3);
      const labels = Object.fromEntries(keys.map((key, i) => [key, `v${i}`]));
      const expected = order(keys).map((key) => [key, labels[key]]);
      const json = redactToJson(PutSecretRequestShape, { labels }) as { labels: Record<string, string> };
      expect(Object.entries(json.labels)).toStrictEqual(expected);
      for (const limit of [200, 2048]) {
        const text = redactToJsonText(PutSecretRequestShape, { labels }, limit);
        expect(text).toBe(documentedCut(JSON.stringify(json), limit));
      }
    }
  });

  it("are sorted for the digest without a buffer per comparison", () => {
    const labels: Record<string, string> = {};
    for (let i = 0; i < 20_000; i++) labels[`é-${(i * 7919) % 20_000}`] = "v";
    const from = vi.spyOn(Buffer, "from");
    const bytes = encodeCanonical(PutSecretRequestShape, { labels });
    expect(from.mock.calls.length).toBeLessThan(100); // a sort's 300,000 comparisons made two each
    from.mockRestore();
    const sorted = Object.keys(labels).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const expected = PutSecretRequest.encode(
      PutSecretRequest.fromPartial({ labels: Object.fromEntries(sorted.map((k) => [k, "v"])) }),
    ).finish();
    expect(Buffer.from(bytes)).toStrictEqual(Buffer.from(expected));
  });
});

/**
 * A hand-made shape whose field names count the times they are made into text: a problem's path is
 * the only text a name is written into (the JSON writes JSON names).
 */
function countingShape(): { shape: MessageShape; texts: () => number } {
  let texts = 0;
  const shape: MessageShape = {
    typeName: "hostile.Node",
    fields: NodeShape.fields.map((plain) => {
      // A String object: compared and looked up like the name, but counted when written into a text.
      const name = Object.assign(new String(plain.name), {
        toString() {
          texts++;
          return plain.name;
        },
      });
      return { ...plain, name, message: () => shape } as unknown as FieldShape;
    }),
  };
  return { shape, texts: () => texts };
}

describe("paths of problems", () => {
  it("are not made into text for values read without a problem: 21,845 nodes read", () => {
    const { shape, texts } = countingShape();
    const wide = (depth: number): unknown => ({
      name: `n${depth}`,
      token: CANARY,
      children: depth === 0 ? [] : Array.from({ length: 4 }, () => wide(depth - 1)),
    });
    const message = wide(7);
    const bytes = encodeCanonical(shape, message);
    const json = redactToJson(shape, message);
    expect(texts()).toBe(0);
    expect(bytes).toStrictEqual(encodeCanonical(NodeShape, message));
    expect(json).toStrictEqual(redactToJson(NodeShape, message));
    const found = problems();
    redactToJson(shape, { children: [{ name: 5 }] }, found);
    expect([found.first, texts()]).toStrictEqual([["children[0].name: not a valid string (number)"], 2]);
  });

  it("name the field, list index and map value of each problem, as before", () => {
    const found = problems();
    redactToJson(
      PutSecretRequestShape,
      {
        owner: { credential: { kind: "KIND_NOPE" } },
        credentials: [{ kind: 1 }, { kind: 2 }, { username: 5 }],
        byHost: { h: { username: "u", kind: [] } },
        labels: { a: 1 },
        ports: [1, "x"],
      },
      found,
    );
    expect(found.first).toStrictEqual([
      "owner.credential.kind: not a valid enum value (string)",
      "credentials[2].username: not a valid string (number)",
      "labels[]: not a valid string (number)",
      "by_host[].kind: not a valid enum value (an array)",
      "ports[1]: not a valid int32 (string)",
    ]);
    const deep = problems();
    const node = tree(2);
    const leaf = node.children[1]?.children[0];
    if (leaf !== undefined) (leaf as { name: unknown }).name = 7;
    redactToJson(NodeShape, node, deep);
    redactToJson(NodeShape, "not an object", deep);
    expect(deep.first).toStrictEqual([
      "children[1].children[0].name: not a valid string (number)",
      "large.Node: not a message object (string)",
    ]);
  });
});

describe("paths of problems deep down", () => {
  it("show the first and last eight steps around the count of those between", () => {
    const found = problems();
    let node: Record<string, unknown> = { name: 7 };
    for (let depth = 0; depth < 40; depth++) node = { children: [node] };
    redactToJson(NodeShape, node, found);
    // 81 steps: 40 times a field and a list index, then the name.
    const ends = [
      "children[0].children[0].children[0].children[0]",
      "[0].children[0].children[0].children[0].name",
    ];
    expect(found.first).toStrictEqual([`${ends[0]}…(65 more)…${ends[1]}: not a valid string (number)`]);
  });
});

describe("messages that cannot be looked at", () => {
  it("are reported by type when a Proxy's trap throws or the Proxy was revoked, never thrown", () => {
    const trap = new Proxy(
      { name: "n" },
      {
        getPrototypeOf() {
          throw new Error(CANARY);
        },
      },
    );
    const revocable = Proxy.revocable({ name: "n" }, {});
    revocable.revoke();
    for (const message of [trap, revocable.proxy]) {
      const json = problems();
      expect(redactToJson(NodeShape, message, json)).toStrictEqual({});
      const encoded = problems();
      expect(encodeCanonical(NodeShape, message, encoded)).toStrictEqual(new Uint8Array());
      for (const found of [json, encoded]) {
        expect(found).toStrictEqual({
          count: 1,
          first: ["large.Node: could not be read (a getter or Proxy trap threw)"],
        });
      }
    }
  });
});

describe("64-bit integers given as decimal strings", () => {
  it("are refused when longer than any 64-bit integer, without parsing the digits", () => {
    const big = vi.spyOn(globalThis, "BigInt");
    const found = problems();
    const json = redactToJson(PutSecretRequestShape, { version: "9".repeat(1_000_000) }, found);
    const zeros = redactToJson(PutSecretRequestShape, { version: `-${"0".repeat(1_000_000)}42` });
    const parsed = big.mock.calls.map(([value]) => String(value).length);
    big.mockRestore();
    expect(json).toStrictEqual({});
    expect(found.first).toStrictEqual(["version: not a valid int64 (string)"]);
    expect(zeros).toStrictEqual({ version: "-42" });
    expect(Math.max(...parsed)).toBeLessThanOrEqual(21);
  });

  it("keep every value they held: leading zeros, signs, the range's ends", () => {
    const cases: [string, unknown][] = [
      ["0".repeat(30), {}],
      [`-${"0".repeat(30)}`, {}],
      [`${"0".repeat(30)}9223372036854775807`, { version: "9223372036854775807" }],
      [`-${"0".repeat(30)}9223372036854775808`, { version: "-9223372036854775808" }],
      [`${"0".repeat(30)}9223372036854775808`, {}],
      ["000000000000000000000000000000000000000018446744073709551615", {}],
    ];
    for (const [version, expected] of cases) {
      expect(redactToJson(PutSecretRequestShape, { version }), version).toStrictEqual(expected);
    }
    expect(
      redactToJson(PutSecretRequestShape, { size: `${"0".repeat(30)}18446744073709551615` }),
    ).toStrictEqual({
      size: "18446744073709551615",
    });
  });
});

function field(no: number, name: string, value: object): FieldShape {
  return {
    no,
    name,
    jsonName: name,
    properties: [name],
    sensitive: false,
    repeated: false,
    optional: false,
    oneof: undefined,
    ...value,
  } as unknown as FieldShape;
}

function shapeOf(typeName: string, fields: FieldShape[]): MessageShape {
  return { typeName, fields };
}
