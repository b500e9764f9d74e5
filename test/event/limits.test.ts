import { describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { DELIVERY_DEFAULTS } from "../../src/delivery/options.js";
import {
  limitEventText,
  MAX_ATTRIBUTE_KEY_BYTES,
  MAX_ATTRIBUTES,
  MAX_CONDITION_CONTEXT_KEYS,
  MAX_CONDITION_KEY_BYTES,
  MAX_CONDITION_NAME_BYTES,
  MAX_FIELD_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_TRUNCATION_MARKER_BYTES,
  truncateText,
} from "../../src/event/limits.js";
import { encodeEvent, eventToJson } from "../../src/event/serialize.js";
import {
  ActorType,
  AuditEvent,
  AuthnDetail,
  AuthzDetail,
  EventType,
  PayloadCapture,
  ResourceAccessDetail,
  ResourceMutationDetail,
  TupleChangeDetail,
} from "../../src/gen/grpcaudit/v1/event.js";
import { fakeBroker } from "../brokers/fake-broker.js";

const bytes = (text: string) => Buffer.byteLength(text, "utf8");

describe("truncateText", () => {
  it("keeps text up to the limit as it is", () => {
    expect(truncateText("", 256)).toBe("");
    expect(truncateText("x".repeat(256), 256)).toBe("x".repeat(256));
    expect(truncateText("é".repeat(128), 256)).toBe("é".repeat(128)); // 256 bytes
  });

  it("cuts at the limit in UTF-8 bytes and says how many bytes were cut", () => {
    expect(truncateText("x".repeat(1_500_000), 256)).toBe(`${"x".repeat(256)}…[truncated 1499744 bytes]`);
    // 129 two-byte characters are 258 bytes: 128 fit, one character (2 bytes) is cut.
    expect(truncateText("é".repeat(129), 256)).toBe(`${"é".repeat(128)}…[truncated 2 bytes]`);
  });

  it("never splits a character or a surrogate pair", () => {
    // "a" then 4-byte emoji: 1 + 63 * 4 = 253 bytes fit, the 64th emoji would end at 257.
    const text = `a${"😀".repeat(100)}`;
    expect(truncateText(text, 256)).toBe(`a${"😀".repeat(63)}…[truncated 148 bytes]`);
    // 3-byte characters: 85 fit (255 bytes), the 86th would end at 258.
    expect(truncateText("€".repeat(90), 256)).toBe(`${"€".repeat(85)}…[truncated 15 bytes]`);
  });

  it("makes a lone surrogate U+FFFD, as it is encoded, and counts its 3 bytes", () => {
    const text = "\ud800".repeat(100); // 300 bytes once encoded
    expect(truncateText(text, 256)).toBe(`${"\ufffd".repeat(85)}…[truncated 45 bytes]`);
  });

  it("takes any limit: above the usual ones, zero, negative or NaN", () => {
    expect(truncateText("x".repeat(5000), 4096)).toBe(`${"x".repeat(4096)}…[truncated 904 bytes]`);
    expect(truncateText("abc", 0)).toBe("…[truncated 3 bytes]");
    expect(truncateText("abc", -5)).toBe("…[truncated 3 bytes]");
    expect(truncateText("abc", Number.NaN)).toBe("…[truncated 3 bytes]");
  });

  it("writes a marker of at most MAX_TRUNCATION_MARKER_BYTES", () => {
    // The longest string V8 makes has 2^29 - 24 UTF-16 units, at most 3 UTF-8 bytes each.
    expect(bytes(`…[truncated ${3 * (2 ** 29 - 24)} bytes]`)).toBeLessThanOrEqual(
      MAX_TRUNCATION_MARKER_BYTES,
    );
    expect(bytes("…[truncated 9999999999 bytes]")).toBe(MAX_TRUNCATION_MARKER_BYTES);
  });
});

const DETAIL_CASES = ["authn", "authz", "tupleChange", "resourceMutation", "resourceAccess"] as const;

/**
 * An event of the given detail case with every message field present and every string field (of the
 * schema as ts-proto generates it, so a field added to event.proto is included) set to `text`.
 */
function eventWithEveryText(
  detail: (typeof DETAIL_CASES)[number],
  text: string | ((path: string) => string),
  tuples = 1,
): AuditEvent {
  const event = AuditEvent.fromPartial({
    eventType: EventType.EVENT_TYPE_AUTHZ_DECISION,
    occurredAt: new Date("2026-11-23T10:00:00.000Z"),
    actor: { type: ActorType.ACTOR_TYPE_USER },
    target: {},
    result: {},
    duration: { seconds: 1, nanos: 5 },
  });
  event.detail = detailOf(detail, tuples);
  return fillStrings(event, text);
}

function detailOf(detail: (typeof DETAIL_CASES)[number], tuples: number): AuditEvent["detail"] {
  switch (detail) {
    case "authn":
      return { $case: detail, value: AuthnDetail.fromPartial({}) };
    case "authz":
      return { $case: detail, value: AuthzDetail.fromPartial({}) };
    case "tupleChange": {
      // Each tuple with a condition of as many context keys as are kept.
      const condition = () => ({ contextKeys: Array.from({ length: MAX_CONDITION_CONTEXT_KEYS }, () => "") });
      const value = TupleChangeDetail.fromPartial({
        tuples: Array.from({ length: tuples }, () => ({ condition: condition() })),
      });
      return { $case: detail, value };
    }
    case "resourceMutation":
      return { $case: detail, value: ResourceMutationDetail.fromPartial({}) };
    case "resourceAccess":
      return { $case: detail, value: ResourceAccessDetail.fromPartial({}) };
  }
}

/**
 * `value` with every empty string replaced: by `text`, or by what `text` gives for its path. ts-proto
 * fills text fields with "" and enums (string enums here) with their names, so only text is replaced.
 */
function fillStrings<T>(value: T, text: string | ((path: string) => string), path = ""): T {
  if (value === "") return (typeof text === "string" ? text : text(path)) as T; // a repeated string's entry
  if (Array.isArray(value)) return value.map((item, i) => fillStrings(item, text, `${path}.${i}`)) as T;
  if (typeof value !== "object" || value === null || value instanceof Date) return value;
  const filled: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const at = path === "" ? key : `${path}.${key}`;
    if (field !== "") filled[key] = fillStrings(field, text, at);
    else filled[key] = typeof text === "string" ? text : text(at);
  }
  return filled as T;
}

/** The byte limit of the text field at `path`. */
function limitOf(path: string): number {
  if (path === "result.message") return MAX_MESSAGE_BYTES;
  if (path.endsWith(".condition.name")) return MAX_CONDITION_NAME_BYTES;
  if (path.includes(".condition.contextKeys.")) return MAX_CONDITION_KEY_BYTES;
  return MAX_FIELD_BYTES;
}

const ENUM_NAME = /^[A-Z][A-Z0-9_]*$/;

/** Every text field of an event by its path, such as "detail.value.tuples.0.user" (no enums, no $case). */
function stringFields(value: unknown, path = ""): [string, string][] {
  if (typeof value === "string")
    return path.endsWith("$case") || ENUM_NAME.test(value) ? [] : [[path, value]];
  if (typeof value !== "object" || value === null || value instanceof Date) return [];
  return Object.entries(value).flatMap(([key, field]) =>
    stringFields(field, path === "" ? key : `${path}.${key}`),
  );
}

describe("limitEventText", () => {
  it.each(DETAIL_CASES)("cuts every text field of a %s event to its limit, with the marker", (detail) => {
    const huge = "x".repeat(1_500_000);
    const event = limitEventText(eventWithEveryText(detail, huge));
    // The instance is the Recorder's option, checked to fit when it is created: events never cut it.
    const fields = stringFields(event).filter(([path]) => path !== "instance");
    expect(fields.length).toBeGreaterThan(15);
    for (const [path, value] of fields) {
      const limit = limitOf(path);
      expect([path, value]).toStrictEqual([
        path,
        `${"x".repeat(limit)}…[truncated ${1_500_000 - limit} bytes]`,
      ]);
    }
  });

  it("leaves an event within its limits untouched, and the shared actor object unchanged", () => {
    const event = eventWithEveryText("authz", "p-1");
    const actor = event.actor;
    const before = structuredClone(event);
    expect(limitEventText(event)).toStrictEqual(before);
    expect(event.actor).toBe(actor);
  });

  it("cuts attribute values to their limit, with the marker, and leaves short ones and the keys", () => {
    const event = eventWithEveryText("authn", "p-1");
    event.attributes = { tenant: "acme", note: "z".repeat(1_500_000) };
    expect(limitEventText(event).attributes).toStrictEqual({
      tenant: "acme",
      note: `${"z".repeat(MAX_FIELD_BYTES)}…[truncated ${1_500_000 - MAX_FIELD_BYTES} bytes]`,
    });
  });

  it("keeps a tuple condition's first context keys and says how many more there were", () => {
    const event = eventWithEveryText("tupleChange", "p-1");
    const keys = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    const tuple = event.detail?.$case === "tupleChange" ? event.detail.value.tuples[0] : undefined;
    if (tuple === undefined) throw new Error("no tuple");
    tuple.condition = { name: "in_region", contextKeys: keys };
    limitEventText(event);
    expect(tuple.condition).toStrictEqual({
      name: "in_region",
      contextKeys: [
        ...keys.slice(0, MAX_CONDITION_CONTEXT_KEYS - 1),
        `…[${13 - MAX_CONDITION_CONTEXT_KEYS} more]`,
      ],
    });
  });

  it("copies an actor it cuts instead of writing into it (it may be the scope's)", () => {
    const event = eventWithEveryText("authn", "y".repeat(300));
    const actor = event.actor;
    limitEventText(event);
    expect(actor?.id).toBe("y".repeat(300));
    expect(event.actor?.id).toBe(`${"y".repeat(256)}…[truncated 44 bytes]`);
  });
});

describe("worst-case event size", () => {
  // Every text field as long as a cut field can be: its limit, in the text that costs the most in JSON
  // (a control character: 1 byte of protobuf, 6 of JSON), then the longest marker.
  const atLimit = (limit: number) => `${"\u0001".repeat(limit)}…[truncated 9999999999 bytes]`;
  const worst = (path: string) => atLimit(limitOf(path));
  // Kafka's default message limit; the NATS default (1 MiB) is larger.
  const kafkaBroker = () => fakeBroker({ maxMessageBytes: 1_000_000 });
  const jsonLimit = createBrokerSink({
    broker: kafkaBroker(),
    topic: "audit",
    encoding: "json",
  }).maxEventBytes;
  const protobufLimit = createBrokerSink({ broker: kafkaBroker(), topic: "audit" }).maxEventBytes;

  it("derives the limits this test holds events to from the sinks", () => {
    expect(jsonLimit).toBe(99_488);
    expect(protobufLimit).toBe(998_976);
    expect(DELIVERY_DEFAULTS.maxBatchBytes).toBe(1_048_576);
  });

  /**
   * The largest event the Recorder can make: every text field at its limit, and the fields not cut
   * by `limitEventText` at the largest they are made: a chain (a UUID, a 64-bit sequence, two SHA-256
   * hashes in hex: about 200 bytes), a payload with both digests and both JSON texts at their 2048
   * bytes (a real event has one or the other), and 16 attributes with 64-byte keys and values at 256.
   */
  function worstEvent(detail: (typeof DETAIL_CASES)[number], tuples = 1): AuditEvent {
    const event = eventWithEveryText(detail, worst, tuples);
    event.chain = {
      chainId: "0".repeat(36),
      seq: Number.MAX_SAFE_INTEGER,
      prevHash: "f".repeat(64),
      hash: "f".repeat(64),
    };
    event.payload = {
      capture: PayloadCapture.PAYLOAD_CAPTURE_REDACTED,
      keyId: atLimit(MAX_FIELD_BYTES),
      requestDigest: "f".repeat(64),
      responseDigest: "f".repeat(64),
      requestCount: 2 ** 32 - 1,
      responseCount: 2 ** 32 - 1,
      requestJson: atLimit(2048),
      responseJson: atLimit(2048),
    };
    // A key is visible ASCII: `"` costs the most in JSON (2 bytes); keys differ in their first bytes.
    const key = (i: number) => `${String(i).padStart(2, "0")}${'"'.repeat(MAX_ATTRIBUTE_KEY_BYTES - 2)}`;
    event.attributes = Object.fromEntries(
      Array.from({ length: MAX_ATTRIBUTES }, (_, i) => [key(i), atLimit(MAX_FIELD_BYTES)]),
    );
    return event;
  }

  it.each(DETAIL_CASES)("a %s event with every field at its limit fits a JSON Kafka message", (detail) => {
    const event = worstEvent(detail);
    const encoded = encodeEvent(event).length;
    expect(encoded).toBeLessThan(jsonLimit ?? 0);
    // At most 18.6 KB here: about 8 KB of envelope and detail, 4.6 KB of payload, 5.8 KB of attributes
    // and 0.2 KB of chain; a fifth of the smallest limit.
    expect(encoded).toBeLessThan(20_480);
    expect(bytes(JSON.stringify(eventToJson(event)))).toBeLessThan(1_000_000 - 1024);
  });

  it("a tuple change of 50 conditional tuples (the OpenFGA writer's most per event) with every field at its limit fits a JSON Kafka message", () => {
    const encoded = encodeEvent(worstEvent("tupleChange", 50)).length;
    // 93.6 KB here: 50 tuples of 1.5 KB, a condition of 0.4 KB each included, and the envelope above.
    expect(encoded).toBeLessThan(jsonLimit ?? 0);
  });

  it("a tuple change of 100 tuples (OpenFGA's default per write) at their limits fits a protobuf message", () => {
    const event = eventWithEveryText("tupleChange", worst, 100);
    const encoded = encodeEvent(event).length;
    expect(encoded).toBeLessThan(protobufLimit ?? 0);
    expect(encoded).toBeLessThan(DELIVERY_DEFAULTS.maxBatchBytes);
    // Each tuple at its limit adds four fields of 256 + 31 bytes, a condition of 64 + 31 bytes with 4
    // keys of 32 + 31 bytes, and a few bytes of tags.
    expect(encoded).toBeLessThan(100 * 1600 + 8192);
  });
});
