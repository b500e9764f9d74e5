/**
 * Payload capture on inputs at the edges: a message that holds itself through
 * a repeated field, proto-loader's wrappers at their default, Timestamps past year 9999, and a map key
 * "__proto__" (ts-proto with `useMapType` gives maps as JavaScript Maps).
 */
import { describe, expect, it } from "vitest";
import { encodeCanonical, payloadDigest, redactToJson } from "../../src/payload/index.js";
import type { PayloadProblems } from "../../src/payload/read-message.js";
import type { FieldShape, MessageShape } from "../../src/rules/message-shape.js";
import { PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { CANARY, PROTO_LOADER_VARIANTS, protoLoaderDecoder, putSecretRequest } from "./messages.js";
import { PutSecretRequestShape } from "./shapes.js";

const problems = (): PayloadProblems => ({ count: 0, first: [] });
const SECRET = new Uint8Array(32).fill(7);

/** message Node { string name = 1; repeated Node children = 2; string token = 3 [sensitive]; } */
const NodeShape: MessageShape = {
  typeName: "edges.Node",
  fields: [
    {
      no: 1,
      name: "name",
      jsonName: "name",
      sensitive: false,
      kind: "scalar",
      scalar: "string",
      repeated: false,
      optional: false,
      oneof: undefined,
    },
    {
      no: 2,
      name: "children",
      jsonName: "children",
      sensitive: false,
      kind: "message",
      message: () => NodeShape,
      repeated: true,
      optional: false,
      oneof: undefined,
    },
    {
      no: 3,
      name: "token",
      jsonName: "token",
      sensitive: true,
      kind: "scalar",
      scalar: "string",
      repeated: false,
      optional: false,
      oneof: undefined,
    },
  ],
};

describe("a message that holds itself twice (a response object a handler built with a cycle)", () => {
  it("is read a bounded number of times, not 2^100, and the cycle is reported", () => {
    // The getter stops the walk after 20,000 reads so that the test ends; without cycle detection the
    // reader would make 2^100 of them, blocking the server's event loop for good.
    let reads = 0;
    const node: Record<string, unknown> = { name: "n", token: CANARY };
    Object.defineProperty(node, "children", {
      enumerable: true,
      get() {
        reads++;
        if (reads > 20_000) throw new Error("still reading");
        return [node, node];
      },
    });
    for (const capture of [
      (found: PayloadProblems) => JSON.stringify(redactToJson(NodeShape, node, found)),
      (found: PayloadProblems) => Buffer.from(encodeCanonical(NodeShape, node, found)).toString("latin1"),
    ]) {
      reads = 0;
      const found = problems();
      const output = capture(found);
      expect(reads).toBeLessThan(10);
      expect(found.first[0]).toBe("children[0]: holds a message it is nested in (a cycle)");
      expect(output).not.toContain(CANARY);
    }
  });

  it("still reads the same message in two places that are not nested in each other", () => {
    const leaf = { name: "leaf" };
    const found = problems();
    expect(redactToJson(NodeShape, { name: "root", children: [leaf, { children: [leaf] }] }, found)).toEqual({
      name: "root",
      children: [{ name: "leaf" }, { children: [{ name: "leaf" }] }],
    });
    expect(found.count).toBe(0);
  });
});

describe("a wrapper holding its default, read from proto-loader without `defaults` ({})", () => {
  it.each(Object.entries(PROTO_LOADER_VARIANTS))(
    "%s: gives the JSON and digest ts-proto's object gives, and reports no problem",
    (_, options) => {
      const message = { ...putSecretRequest(), note: "" };
      const decoded = protoLoaderDecoder(options)(PutSecretRequest.encode(message).finish());
      const found = problems();
      expect(redactToJson(PutSecretRequestShape, decoded, found)).toEqual(
        redactToJson(PutSecretRequestShape, message),
      );
      expect(payloadDigest(PutSecretRequestShape, [decoded], SECRET, found)).toBe(
        payloadDigest(PutSecretRequestShape, [message], SECRET),
      );
      expect(found).toEqual(problems());
    },
  );
});

describe("a Timestamp outside years 1 to 9999 (a ts-proto Date can hold one)", () => {
  it("keeps its seconds in the JSON: two different times never give the same text", () => {
    const at = (iso: string) =>
      (redactToJson(PutSecretRequestShape, { expiresAt: new Date(iso) }) as { expiresAt: string }).expiresAt;
    const a = at("+010000-01-01T00:00:05.000Z");
    const b = at("+010000-01-01T00:00:07.000Z");
    expect(a).not.toBe(b);
    expect(at("-000001-06-01T00:00:05.000Z")).not.toBe(at("-000001-06-01T00:00:07.000Z"));
    expect(at("9999-12-31T23:59:59.000Z")).toBe("9999-12-31T23:59:59Z");
  });
});

describe('a map entry with the key "__proto__"', () => {
  it("is in the JSON like any other key, as it is in the canonical encoding", () => {
    const labels = new Map([
      ["__proto__", "x"],
      ["a", "b"],
    ]);
    const byHost = new Map([["__proto__", { username: "u", password: CANARY }]]);
    const found = problems();
    const json = JSON.stringify(redactToJson(PutSecretRequestShape, { labels, byHost }, found));
    expect(JSON.parse(json)).toEqual(
      JSON.parse('{"labels":{"__proto__":"x","a":"b"},"byHost":{"__proto__":{"username":"u"}}}'),
    );
    expect(json).not.toContain(CANARY);
    expect(found.count).toBe(0);
    expect(Buffer.from(encodeCanonical(PutSecretRequestShape, { labels })).includes("__proto__")).toBe(true);
  });
});

/** message Names { string to_string = 1; oneof value_of { string text = 2; } }, as the plugin writes it. */
const NamesShape: MessageShape = {
  typeName: "edges.Names",
  fields: [
    {
      no: 1,
      name: "to_string",
      jsonName: "toString",
      properties: ["toString", "to_string"],
      sensitive: false,
      kind: "scalar",
      scalar: "string",
      repeated: false,
      optional: false,
      oneof: undefined,
    },
    {
      no: 2,
      name: "text",
      jsonName: "text",
      sensitive: false,
      kind: "scalar",
      scalar: "string",
      repeated: false,
      optional: false,
      oneof: "value_of",
    },
  ],
};

describe("fields and oneofs named like what every object inherits (to_string, value_of)", () => {
  it("reads them from a keepCase object, not Object.prototype's toString and valueOf", () => {
    const found = problems();
    // proto-loader with keepCase and oneofs: the field under its .proto name, the oneof naming its member.
    const keepCase = { to_string: "name-1", value_of: "text", text: "hello" };
    expect(redactToJson(NamesShape, keepCase, found)).toStrictEqual({ toString: "name-1", text: "hello" });
    expect(found.count).toBe(0);
  });
});

describe("a Timestamp whose seconds are beyond 2^53 (proto-loader's Long or string)", () => {
  it("keeps every digit of its seconds in the JSON", () => {
    const at = (seconds: string) =>
      (redactToJson(PutSecretRequestShape, { expires_at: { seconds, nanos: 0 } }) as { expiresAt: string })
        .expiresAt;
    expect(at("9007199254740993")).toBe("9007199254740993s");
    expect(at("9007199254740992")).toBe("9007199254740992s");
    expect(at("-9223372036854775808")).toBe("-9223372036854775808s");
  });
});

describe('a field whose JSON name is "__proto__" (a json_name option)', () => {
  const field = (no: number, jsonName: string): MessageShape["fields"][number] => ({
    no,
    name: `f${no}`,
    jsonName,
    properties: [`f${no}`],
    sensitive: false,
    kind: "scalar",
    scalar: "string",
    repeated: false,
    optional: false,
    oneof: undefined,
  });
  const shape: MessageShape = {
    typeName: "edges.ProtoName",
    fields: [field(1, "__proto__"), field(2, "b")],
  };

  it("is in the JSON like any other field", () => {
    const json = redactToJson(shape, { f1: "a", f2: "b" });
    expect(JSON.stringify(json)).toBe('{"__proto__":"a","b":"b"}');
    expect(Object.getPrototypeOf(json)).toBe(Object.prototype);
  });
});

describe("a Duration whose seconds and nanos disagree in sign, or whose nanos are a second or more", () => {
  const ttl = (seconds: number | string, nanos: number) =>
    (redactToJson(PutSecretRequestShape, { ttl: { seconds, nanos } }) as { ttl: string }).ttl;

  it("is written as the time it holds, seconds plus nanos", () => {
    expect(ttl(1, -500_000_000)).toBe("0.500s");
    expect(ttl(-1, 500_000_000)).toBe("-0.500s");
    expect(ttl(-1, -500_000_000)).toBe("-1.500s");
    expect(ttl(1, 1_500_000_000)).toBe("2.500s");
    expect(ttl("-9223372036854775808", -1)).toBe("-9223372036854775808.000000001s");
  });
});

describe("a Timestamp whose nanos are negative or a second or more (proto-loader takes any int32)", () => {
  const at = (seconds: number, nanos: number) =>
    (redactToJson(PutSecretRequestShape, { expires_at: { seconds, nanos } }) as { expiresAt: string })
      .expiresAt;

  it("is written as the instant it holds, seconds plus nanos", () => {
    expect(at(5, -1)).toBe("1970-01-01T00:00:04.999999999Z");
    expect(at(5, 1_500_000_000)).toBe("1970-01-01T00:00:06.500Z");
    expect(at(5, 500_000_000)).toBe("1970-01-01T00:00:05.500Z");
  });
});

const stringField = (
  no: number,
  name: string,
  jsonName: string,
  oneof: string | undefined,
  sensitive = false,
): FieldShape => ({
  no,
  name,
  jsonName,
  properties: [...new Set([jsonName, name])],
  sensitive,
  kind: "scalar" as const,
  scalar: "string" as const,
  repeated: false,
  optional: false,
  oneof,
});

/**
 * message Req { string id = 1; oneof OWNER_REF { string user_name = 2; string token = 3 [sensitive]; }
 * oneof target_Kind { string project = 4; string org = 5; } }
 */
const OneofNamesShape: MessageShape = {
  typeName: "edges.Req",
  fields: [
    stringField(1, "id", "id", undefined),
    stringField(2, "user_name", "userName", "OWNER_REF"),
    stringField(3, "token", "token", "OWNER_REF", true),
    stringField(4, "project", "project", "target_Kind"),
    stringField(5, "org", "org", "target_Kind"),
  ],
};

describe("oneofs whose ts-proto property is neither the .proto name nor its camelCase (OWNER_REF, target_Kind)", () => {
  // ts-proto (`oneof=unions-value`) keeps them as ownerRef and targetKind (its maybeSnakeToCamel).
  const tsProto = {
    id: "i1",
    ownerRef: { $case: "userName", value: "alice" },
    targetKind: { $case: "org", value: "acme" },
  };
  // proto-loader with keepCase: the members as plain fields.
  const keepCase = { id: "i1", user_name: "alice", org: "acme" };

  it("captures their members from a ts-proto object, in the JSON and the digest", () => {
    const found = problems();
    expect(redactToJson(OneofNamesShape, tsProto, found)).toStrictEqual({
      id: "i1",
      userName: "alice",
      org: "acme",
    });
    expect(found.count).toBe(0);
    expect(encodeCanonical(OneofNamesShape, tsProto)).toStrictEqual(
      encodeCanonical(OneofNamesShape, keepCase),
    );
  });

  it("still leaves out the sensitive member", () => {
    const secret = { id: "i1", ownerRef: { $case: "token", value: CANARY } };
    expect(JSON.stringify(redactToJson(OneofNamesShape, secret, problems()))).not.toContain(CANARY);
    expect(redactToJson(OneofNamesShape, secret, problems())).toStrictEqual({ id: "i1" });
  });

  it("reports a member of ts-proto's `oneof=unions` (no `value`), which it does not read", () => {
    const found = problems();
    const unions = { id: "i1", ownerRef: { $case: "userName", userName: "alice" } };
    expect(redactToJson(OneofNamesShape, unions, found)).toStrictEqual({ id: "i1" });
    expect(found.count).toBe(1);
  });
});
