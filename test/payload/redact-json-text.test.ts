/**
 * The redacted JSON text as an event keeps it (`redactToJsonText`): the whole JSON when it fits the
 * limit; else its start, cut on a character boundary, and "…[truncated]", all within the limit. Pinned
 * against the whole JSON of the same message (`redactToJson`, whose output for the large messages is
 * pinned by hashes taken from the code before the limit was applied while reading), and shown to read
 * only a bounded part of a huge message.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_PAYLOAD_JSON_BYTES } from "../../src/event/record-context.js";
import { type PayloadProblems, redactToJson, redactToJsonText } from "../../src/payload/index.js";
import type { MessageShape } from "../../src/rules/message-shape.js";
import { Kind, PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { fixedRecorder } from "../helpers/recorder.js";
import {
  documentedCut,
  longBytes,
  longName,
  manyCredentials,
  manyLabels,
  NodeShape,
  type TreeNode,
  tree,
} from "./large-messages.js";
import { CANARY, PROTO_LOADER_VARIANTS, protoLoaderDecoder, putSecretRequest } from "./messages.js";
import { PutSecretRequestShape, ReadSecretRequestShape } from "./shapes.js";

const LIMIT = 2048;
const MARKER = "…[truncated]";
const problems = (): PayloadProblems => ({ count: 0, first: [] });
const bytes = (text: string) => Buffer.byteLength(text);
const wholeJson = (shape: MessageShape, message: unknown) => JSON.stringify(redactToJson(shape, message));

describe("a message whose JSON fits the limit", () => {
  it("gives the whole JSON text, whichever loader decoded it", () => {
    const message = putSecretRequest();
    const cases: [MessageShape, unknown][] = [
      [PutSecretRequestShape, message],
      [ReadSecretRequestShape, { name: "n", reason: "r", oneTimeCode: CANARY }],
    ];
    for (const options of Object.values(PROTO_LOADER_VARIANTS)) {
      cases.push([
        PutSecretRequestShape,
        protoLoaderDecoder(options)(PutSecretRequest.encode(message).finish()),
      ]);
    }
    for (const [shape, form] of cases) {
      expect(redactToJsonText(shape, form, LIMIT)).toBe(wholeJson(shape, form));
    }
  });
});

describe("a message at the limit", () => {
  // {"name":"…"} is 11 bytes around the name.
  const text = (length: number) =>
    redactToJsonText(ReadSecretRequestShape, { name: "a".repeat(length) }, LIMIT);

  it("keeps JSON of 2047 and 2048 bytes whole", () => {
    expect(text(2036)).toBe(`{"name":"${"a".repeat(2036)}"}`);
    expect(text(2037)).toBe(`{"name":"${"a".repeat(2037)}"}`);
  });

  it("cuts JSON of 2049 bytes to 2048 with the marker: 2034 bytes kept, then 14 of marker", () => {
    expect(text(2038)).toBe(`{"name":"${"a".repeat(2025)}${MARKER}`);
    expect(bytes(text(2038))).toBe(LIMIT);
  });
});

describe("multi-byte characters at the cut", () => {
  it.each([
    ["é", 2],
    ["€", 3],
    ["😀", 4],
  ])("never splits %s (%i bytes), at every offset", (char) => {
    for (let offset = 0; offset < 4; offset++) {
      const message = { name: `${"a".repeat(offset)}${char.repeat(1500)}` };
      const json = wholeJson(ReadSecretRequestShape, message);
      const out = redactToJsonText(ReadSecretRequestShape, message, LIMIT);
      const kept = out.slice(0, -MARKER.length);
      expect(out.endsWith(MARKER)).toBe(true);
      expect(json.startsWith(kept)).toBe(true);
      expect(Buffer.from(out).toString()).toBe(out); // no lone surrogate
      expect(bytes(kept) + bytes(char)).toBeGreaterThan(LIMIT - bytes(MARKER)); // the next one did not fit
      expect(out).toBe(documentedCut(json, LIMIT));
    }
  });

  it("keeps a string's lone surrogates and escapes as JSON.stringify writes them", () => {
    const message = { name: `\ud800"\\\n${"\udfff😀\u0001".repeat(1000)}` };
    const out = redactToJsonText(ReadSecretRequestShape, message, LIMIT);
    expect(out).toBe(documentedCut(wholeJson(ReadSecretRequestShape, message), LIMIT));
  });
});

describe("every limit on a message with every kind of field", () => {
  it("gives the documented cut of the whole JSON, from 14 to 700 bytes", () => {
    const message = { ...putSecretRequest(), name: "nämé-😀", comment: 'a "quoted" comment' };
    const forms: unknown[] = [message];
    for (const options of Object.values(PROTO_LOADER_VARIANTS)) {
      forms.push(protoLoaderDecoder(options)(PutSecretRequest.encode(message).finish()));
    }
    for (const form of forms) {
      const json = wholeJson(PutSecretRequestShape, form);
      for (let limit = 14; limit <= 700; limit++) {
        const out = redactToJsonText(PutSecretRequestShape, form, limit);
        expect(out, `limit ${limit}`).toBe(documentedCut(json, limit));
        expect(bytes(out)).toBeLessThanOrEqual(limit);
      }
    }
  });
});

describe("messages whose JSON is little more than what is counted before it is written", () => {
  // One-digit numbers, brackets and field names: the reading's count of what the JSON certainly holds
  // is exact here, so a reading that counted more than is written would stop too early and show it.
  const chain = (depth: number): TreeNode => ({
    name: "",
    token: CANARY,
    children: depth === 0 ? [] : [chain(depth - 1)],
  });
  it.each([
    ["one-digit numbers", PutSecretRequestShape, { ports: Array.from({ length: 2000 }, (_, i) => i % 10) }],
    ["a chain of 99 messages", NodeShape, chain(98)],
  ] as const)("%s: the documented cut at every limit from 14 to 1500 bytes", (_, shape, message) => {
    const json = wholeJson(shape, message);
    for (let limit = 14; limit <= 1500; limit++) {
      expect(redactToJsonText(shape, message, limit), `limit ${limit}`).toBe(documentedCut(json, limit));
    }
  });
});

describe("random messages at random limits", () => {
  /** A seeded generator, so a failure names a message and limit that can be made again. */
  const random = (seed: number) => {
    let state = seed;
    return () => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x7fffffff;
    };
  };
  const KINDS = [Kind.KIND_UNSPECIFIED, Kind.KIND_PASSWORD, Kind.KIND_API_KEY];
  const CHARS = ["a", "é", "€", "😀", '"', "\\", "\n", "\u0001", "\ud800", "z"];

  it("give the documented cut of the whole JSON: 300 messages, two loaders, a tree each", () => {
    const variants = Object.values(PROTO_LOADER_VARIANTS).map(protoLoaderDecoder);
    for (let i = 0; i < 300; i++) {
      const next = random(i + 1);
      const count = (n: number) => Math.floor(next() * n);
      const text = (n: number) => Array.from({ length: count(n) }, () => CHARS[count(CHARS.length)]).join("");
      const message = {
        ...putSecretRequest(),
        name: text(60),
        comment: next() < 0.5 ? text(30) : undefined,
        credentials: Array.from({ length: count(20) }, () => ({
          username: text(10),
          password: CANARY,
          recoveryCodes: [],
          kind: KINDS[count(3)] ?? Kind.KIND_UNSPECIFIED,
        })),
        labels: Object.fromEntries(Array.from({ length: count(8) }, () => [text(6), text(6)])),
        ports: Array.from({ length: count(30) }, () => count(70_000) - 100),
        kinds: Array.from({ length: count(5) }, () => KINDS[count(3)] ?? Kind.KIND_UNSPECIFIED),
        salt: Buffer.from(text(20)),
      };
      const decoded = variants[i % variants.length]?.(PutSecretRequest.encode(message).finish());
      const node = (depth: number): TreeNode => ({
        name: text(8),
        token: CANARY,
        children: depth === 0 ? [] : Array.from({ length: count(3) }, () => node(depth - 1)),
      });
      const cases: [MessageShape, unknown][] = [
        [PutSecretRequestShape, message],
        [PutSecretRequestShape, decoded],
        [NodeShape, node(5)],
      ];
      for (const [shape, form] of cases) {
        const json = wholeJson(shape, form);
        for (let n = 0; n < 20; n++) {
          const limit = 14 + count(Math.min(json.length * 3, 3000));
          expect(redactToJsonText(shape, form, limit), `message ${i}, limit ${limit}`).toBe(
            documentedCut(json, limit),
          );
        }
      }
    }
  });
});

describe("messages of several MB", () => {
  // Byte length and SHA-256 of JSON.stringify(redactToJson(...)) as computed by the code before this
  // change (commit 8fe6c73), over the same messages: the whole JSON the cut is compared with.
  it.each([
    [
      "80,000 credentials",
      PutSecretRequestShape,
      manyCredentials,
      3856031,
      "591e91a13853ba4f514727580e966b28d56fd76917da57a997ae3c62d304e559",
    ],
    [
      "a 4 MB string",
      PutSecretRequestShape,
      longName,
      4640510,
      "6338a726023112ec7534471389f63ce1b1add204dda237273ea34527f13d1534",
    ],
    [
      "4 MB of bytes",
      PutSecretRequestShape,
      longBytes,
      5333826,
      "7d1c4f1e334b51856e23ad634e48d16dcd59ea5cf3480ca610429a2b01e1c71c",
    ],
    [
      "100,000 map entries",
      PutSecretRequestShape,
      manyLabels,
      2778267,
      "f0fbd8dd60aa24b7d78e837e14c0a29dcd4d6d9c686f79d081bd50c09f743c06",
    ],
    [
      "a tree 15 levels deep",
      NodeShape,
      () => tree(15),
      2195431,
      "7258a3018e20a7349c9a6124467a44cee752df83377bcb123892ba4e800d5f81",
    ],
  ] as const)("%s: the cut of the whole JSON, without a secret", (_, shape, make, length, sha256) => {
    const message = make();
    const json = wholeJson(shape, message);
    expect([bytes(json), createHash("sha256").update(json).digest("hex")]).toStrictEqual([length, sha256]);
    const out = redactToJsonText(shape, message, LIMIT);
    expect(out).toBe(documentedCut(json, LIMIT));
    expect(bytes(out)).toBeLessThanOrEqual(LIMIT);
    expect(out).not.toContain(CANARY);
  });
});

/** `items` behind a Proxy that counts the elements read. */
function counted<T>(items: T[]): { list: T[]; reads: () => number } {
  let reads = 0;
  const list = new Proxy(items, {
    get(target, property, receiver) {
      if (typeof property === "string" && /^\d+$/.test(property)) reads++;
      return Reflect.get(target, property, receiver);
    },
  });
  return { list, reads: () => reads };
}

describe("reading a huge message", () => {
  it("reads a bounded part of a repeated field of a million messages", () => {
    const items = Array.from({ length: 1_000_000 }, (_, i) => ({
      username: `u${i}`,
      password: CANARY,
      kind: 1,
    }));
    const { list, reads } = counted(items);
    const message = { ...putSecretRequest(), credentials: list };
    const out = redactToJsonText(PutSecretRequestShape, message, LIMIT);
    expect(reads()).toBeLessThan(200);
    expect(out.endsWith(MARKER)).toBe(true);
    expect(out).toContain('"credentials":[{"username":"u0","kind":"KIND_PASSWORD"},{"username":"u1"');
  });

  it("reads a bounded part of a deep tree", () => {
    let reads = 0;
    const watch = (node: TreeNode): TreeNode => ({
      name: node.name,
      token: node.token,
      get children() {
        reads++;
        return node.children.map(watch);
      },
    });
    const out = redactToJsonText(NodeShape, watch(tree(17)), LIMIT); // 262,143 nodes
    expect(reads).toBeLessThan(300);
    expect(out).toBe(documentedCut(wholeJson(NodeShape, tree(17)), LIMIT));
  });

  it("does not read the fields after a string that passes the limit", () => {
    const message: Record<string, unknown> = { name: "x".repeat(4_000_000) };
    let later = 0;
    Object.defineProperty(message, "owner", {
      get() {
        later++;
        return { id: "o" };
      },
    });
    expect(redactToJsonText(PutSecretRequestShape, message, LIMIT)).toBe(
      `{"name":"${"x".repeat(2025)}${MARKER}`,
    );
    expect(later).toBe(0);
  });
});

describe("problems", () => {
  const withBadKind = (at: number) => {
    const message = manyCredentials();
    const bad = message.credentials[at];
    if (bad !== undefined) bad.kind = "KIND_BOGUS" as unknown as Kind;
    return message;
  };

  it("are reported in the part read", () => {
    const found = problems();
    redactToJsonText(PutSecretRequestShape, withBadKind(1), LIMIT, found);
    expect(found).toStrictEqual({
      count: 1,
      first: ["credentials[1].kind: not a valid enum value (string)"],
    });
  });

  it("are not looked for in the part not read (the whole JSON would find them)", () => {
    const found = problems();
    redactToJsonText(PutSecretRequestShape, withBadKind(50_000), LIMIT, found);
    expect(found.count).toBe(0);
    redactToJsonText(PutSecretRequestShape, withBadKind(50_000), 10_000_000, found);
    expect(found.count).toBe(1);
  });

  it("are found in every key of a map, whose keys are all looked at, and in the values shown", () => {
    const message = manyLabels();
    (message.labels as Record<string, unknown>)["label-00000"] = 7; // second in key order, after "label-0"
    (message.labels as Record<string, unknown>)["label-99999"] = 8; // last, never shown
    const labels = new Map<unknown, unknown>(Object.entries(message.labels));
    labels.set(99_999, "a key that is no string");
    const found = problems();
    redactToJsonText(PutSecretRequestShape, { ...message, labels }, LIMIT, found);
    expect(found).toStrictEqual({
      count: 2,
      first: ["labels: map key not a valid string", "labels[]: not a valid string (number)"],
    });
    redactToJsonText(PutSecretRequestShape, { ...message, labels }, 10_000_000, found);
    expect(found.count).toBe(2 + 3);
  });
});

describe("the cut text in an event", () => {
  it("is kept by the Recorder as it is: it is within the event's limit", async () => {
    const text = redactToJsonText(PutSecretRequestShape, manyCredentials(), MAX_PAYLOAD_JSON_BYTES);
    const { recorder, memory } = fixedRecorder();
    await recorder.recordResourceAccess({
      resourceType: "secret",
      resourceId: "s-1",
      payload: { capture: "redacted", requestCount: 1, requestJson: text },
    });
    expect(memory.events[0]?.payload?.requestJson).toBe(text);
    expect(text.endsWith(MARKER)).toBe(true);
  });
});
