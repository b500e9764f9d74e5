import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { eventFromJson, eventToJson } from "../../src/event/serialize.js";
import type { Duration } from "../../src/gen/google/protobuf/duration.js";
import {
  type Actor,
  ActorType,
  AuditEvent,
  type AuthnDetail,
  AuthnFailureReason,
  AuthzDecision,
  type AuthzDetail,
  type Chain,
  type ChainCheckpointDetail,
  EventType,
  MutationType,
  type Payload,
  PayloadCapture,
  type ResourceAccessDetail,
  type ResourceMutationDetail,
  type Result,
  type Target,
  type TupleChange,
  type TupleChangeDetail,
  TupleOperation,
} from "../../src/gen/grpcaudit/v1/event.js";

// eventToJson is written by hand for speed. These tests hold it to ts-proto's AuditEvent.toJSON (with
// the duration as proto3 JSON text) over generated events, and check that the generators below set
// every field of the schema: a field or oneof case added to event.proto fails here until both the
// generators and eventToJson handle it.

/** The value eventToJson must give: ts-proto's toJSON, with the duration as "1.5s". */
function referenceJson(event: AuditEvent): Record<string, unknown> {
  const json = AuditEvent.toJSON(event) as Record<string, unknown>;
  if (event.duration !== undefined) json.duration = durationText(event.duration);
  return json;
}

/** Proto3 JSON duration text, written differently from src/: trailing groups of "000" dropped. */
function durationText({ seconds, nanos }: Duration): string {
  const fraction = String(nanos)
    .padStart(9, "0")
    .replace(/(?:000)+$/, "");
  return fraction === "" ? `${seconds}s` : `${seconds}.${fraction}s`;
}

/** A seeded generator (mulberry32), so a failure can be replayed. */
class Random {
  constructor(private state: number) {}
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(values: readonly T[]): T {
    return values[this.int(values.length)] as T;
  }
}

const STRINGS = [
  "a",
  "alice",
  "p-42",
  "/example.v1.ProjectService/UpdateProject",
  "ü",
  "😀",
  'quote " and \\ backslash',
  "line\nbreak\ttab",
  "\u0000",
  " ",
  "x".repeat(300),
];

// Each generator gives every field its default with probability `p` and a non-default value otherwise;
// `Complete<T>` makes TypeScript require every field, including the optional message fields.
type Complete<T> = { [K in keyof T]-?: T[K] };
type Detail = NonNullable<AuditEvent["detail"]>;
type DetailCase = Detail["$case"];

const string = (r: Random, p: number) => (r.chance(p) ? "" : r.pick(STRINGS));
const boolean = (r: Random, p: number) => !r.chance(p);

/** A value of a ts-proto string enum other than its `…_UNSPECIFIED` default, sometimes one it does not know. */
function enumValue<E extends string>(r: Random, p: number, values: Record<string, E>, unspecified: E): E {
  if (r.chance(p)) return unspecified;
  if (r.chance(0.05)) return "NOT_IN_THIS_SCHEMA" as E;
  return r.pick(Object.values(values).filter((value) => value !== unspecified));
}

function date(r: Random): Date {
  switch (r.int(4)) {
    case 0: // a few seconds around one instant, so that consecutive events often share a second
      return new Date(Date.UTC(2026, 10, 23, 10, 0, r.int(3), r.int(1000)));
    case 1:
      return new Date(r.int(2 ** 42));
    case 2: // before 1970
      return new Date(-r.int(2 ** 42));
    default: // the whole range of Date, years past 9999 and before 0 included
      return new Date(Math.round((r.next() * 2 - 1) * 8.64e15));
  }
}

function duration(r: Random): Complete<Duration> {
  const nanos = r.pick([0, 1, 1_000, 500_000, 1_000_000, 250_000_000, 123_456_789, 999_999_999, r.int(1e9)]);
  return { seconds: r.pick([0, 1, 59, r.int(1e6)]), nanos };
}

function actor(r: Random, p: number): Complete<Actor> {
  return {
    id: string(r, p),
    type: enumValue(r, p, ActorType, ActorType.ACTOR_TYPE_UNSPECIFIED),
    displayName: string(r, p),
    email: string(r, p),
    subject: string(r, p),
    clientId: string(r, p),
    realm: string(r, p),
  };
}

function target(r: Random, p: number): Complete<Target> {
  return { type: string(r, p), id: string(r, p), name: string(r, p) };
}

function result(r: Random, p: number): Complete<Result> {
  return { success: boolean(r, p), code: string(r, p), message: string(r, p) };
}

const HASHES = ["0".repeat(64), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"];
const hash = (r: Random, p: number) => (r.chance(p) ? "" : r.pick(HASHES));
const uint64 = (r: Random, p: number) => (r.chance(p) ? 0 : r.pick([1, 2, 1000, 2 ** 53 - 1]));

function chain(r: Random, p: number): Complete<Chain> {
  return { chainId: string(r, p), seq: uint64(r, p), prevHash: hash(r, p), hash: hash(r, p) };
}

function payload(r: Random, p: number): Complete<Payload> {
  return {
    capture: enumValue(r, p, PayloadCapture, PayloadCapture.PAYLOAD_CAPTURE_UNSPECIFIED),
    keyId: string(r, p),
    requestDigest: hash(r, p),
    responseDigest: hash(r, p),
    requestCount: uint64(r, p) % 4_294_967_296,
    responseCount: uint64(r, p) % 4_294_967_296,
    requestJson: string(r, p),
    responseJson: string(r, p),
  };
}

function attributes(r: Random, p: number): Record<string, string> {
  if (r.chance(p)) return {};
  return Object.fromEntries(Array.from({ length: 1 + r.int(3) }, () => [r.pick(STRINGS), string(r, p)]));
}

function tupleChange(r: Random, p: number): Complete<TupleChange> {
  return {
    operation: enumValue(r, p, TupleOperation, TupleOperation.TUPLE_OPERATION_UNSPECIFIED),
    user: string(r, p),
    relation: string(r, p),
    object: string(r, p),
    success: boolean(r, p),
    errorReason: string(r, p),
  };
}

/** One generator per oneof case; `satisfies` fails to compile when a case is missing or unknown. */
const DETAILS = {
  authn: (r: Random, p: number): Complete<AuthnDetail> => ({
    method: string(r, p),
    success: boolean(r, p),
    failureReason: enumValue(r, p, AuthnFailureReason, AuthnFailureReason.AUTHN_FAILURE_REASON_UNSPECIFIED),
  }),
  authz: (r: Random, p: number): Complete<AuthzDetail> => ({
    relation: string(r, p),
    objectType: string(r, p),
    objectId: string(r, p),
    decision: enumValue(r, p, AuthzDecision, AuthzDecision.AUTHZ_DECISION_UNSPECIFIED),
    cacheHit: boolean(r, p),
    errorReason: string(r, p),
    storeId: string(r, p),
    modelId: string(r, p),
  }),
  tupleChange: (r: Random, p: number): Complete<TupleChangeDetail> => ({
    tuples: r.chance(p) ? [] : Array.from({ length: 1 + r.int(3) }, () => tupleChange(r, p)),
    storeId: string(r, p),
    modelId: string(r, p),
  }),
  resourceMutation: (r: Random, p: number): Complete<ResourceMutationDetail> => ({
    mutation: enumValue(r, p, MutationType, MutationType.MUTATION_TYPE_UNSPECIFIED),
    resourceType: string(r, p),
    resourceId: string(r, p),
  }),
  resourceAccess: (r: Random, p: number): Complete<ResourceAccessDetail> => ({
    resourceType: string(r, p),
    resourceId: string(r, p),
  }),
  checkpoint: (r: Random, p: number): Complete<ChainCheckpointDetail> => ({
    headSeq: uint64(r, p),
    headHash: hash(r, p),
    keyId: string(r, p),
    signature: string(r, p),
    final: boolean(r, p),
  }),
} satisfies { [C in DetailCase]: (r: Random, p: number) => Extract<Detail, { $case: C }>["value"] };

const DETAIL_CASES = Object.keys(DETAILS) as DetailCase[];

function detail(r: Random, p: number, only?: DetailCase): AuditEvent["detail"] {
  if (only === undefined && r.chance(p)) return undefined;
  if (only === undefined && r.chance(0.02)) return { $case: "notInThisSchema" } as unknown as Detail;
  const $case = only ?? r.pick(DETAIL_CASES);
  return { $case, value: DETAILS[$case](r, p) } as Detail;
}

/** An event with each field at its default with probability `p`; `only` forces that oneof case. */
function event(r: Random, p: number, only?: DetailCase): Complete<AuditEvent> {
  return {
    eventId: string(r, p),
    eventType: enumValue(r, p, EventType, EventType.EVENT_TYPE_UNSPECIFIED),
    schemaVersion: r.chance(p) ? 0 : r.pick([1, 2, 4_294_967_295, 2.5, 1.4999]),
    occurredAt: r.chance(p) ? undefined : date(r),
    service: string(r, p),
    operation: string(r, p),
    actor: r.chance(p) ? undefined : actor(r, p),
    target: r.chance(p) ? undefined : target(r, p),
    result: r.chance(p) ? undefined : result(r, p),
    traceId: string(r, p),
    spanId: string(r, p),
    requestId: string(r, p),
    peer: string(r, p),
    duration: r.chance(p) ? undefined : duration(r),
    userAgent: string(r, p),
    chain: r.chance(p) ? undefined : chain(r, p),
    payload: r.chance(p) ? undefined : payload(r, p),
    attributes: attributes(r, p),
    detail: detail(r, p, only),
  };
}

/** Every field of `message`, at every level, appears in its ts-proto JSON (which omits defaults). */
function expectEveryFieldWritten(message: object, json: unknown, path: string): void {
  expect(json, path).toBeTypeOf("object");
  for (const [key, value] of Object.entries(message)) {
    if (key === "detail") {
      const { $case, value: inner } = value as Detail;
      expectEveryFieldWritten(inner, (json as Record<string, unknown>)[$case], `${path}.${$case}`);
      continue;
    }
    expect(json, `${path}.${key}`).toHaveProperty([key]);
    const written = (json as Record<string, unknown>)[key];
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        expectEveryFieldWritten(item, (written as unknown[])[i], `${path}.${key}[${i}]`);
      }
    } else if (typeof value === "object" && !(value instanceof Date) && key !== "duration") {
      expectEveryFieldWritten(value, written, `${path}.${key}`);
    }
  }
}

/** The oneof cases the generated decoder knows, found by trying every field number up to 2047. */
function decodedDetailCases(): string[] {
  const cases: string[] = [];
  for (let field = 1; field < 2048; field++) {
    const bytes = new BinaryWriter()
      .uint32((field << 3) | 2)
      .uint32(0)
      .finish();
    const decoded = AuditEvent.decode(bytes).detail;
    if (decoded !== undefined) cases.push(decoded.$case);
  }
  return cases.sort();
}

describe("eventToJson against ts-proto's AuditEvent.toJSON", () => {
  it("has a generator for every oneof case of the schema", () => {
    expect(decodedDetailCases()).toStrictEqual([...DETAIL_CASES].sort());
  });

  it.each(DETAIL_CASES)("generates %s events that set every field of the schema, at every level", (only) => {
    const r = new Random(7);
    for (let i = 0; i < 20; i++) {
      const full = event(r, 0, only);
      // fromPartial fills in every field the schema has: nothing is added when the generator set them all.
      expect(AuditEvent.fromPartial(full)).toStrictEqual(full);
      expectEveryFieldWritten(full, AuditEvent.toJSON(full), "event");
    }
  });

  it("writes the same object, keys in the same order, for 10,000 generated events", () => {
    const r = new Random(20261123);
    for (let i = 0; i < 10_000; i++) {
      const generated = event(r, r.pick([0, 0.1, 0.5, 0.9, 1]));
      const expected = referenceJson(generated);
      const json = eventToJson(generated);
      expect(json, `event ${i}`).toStrictEqual(expected);
      expect(JSON.stringify(json), `event ${i}`).toBe(JSON.stringify(expected));
    }
  });

  it("writes times that share a second with the previous event exactly as toISOString does", () => {
    const base = Date.UTC(2026, 10, 23, 10, 0, 0);
    for (const ms of [0, 1, 9, 10, 99, 100, 999, 1000, 998, 1999, 2000, -1, -1000, -999]) {
      const occurredAt = new Date(base + ms);
      expect(eventToJson(AuditEvent.fromPartial({ occurredAt })).occurredAt).toBe(occurredAt.toISOString());
    }
  });

  it("throws a RangeError for an invalid time, like toISOString, also right after a valid one", () => {
    eventToJson(AuditEvent.fromPartial({ occurredAt: new Date() }));
    const invalid = AuditEvent.fromPartial({ occurredAt: new Date(Number.NaN) });
    expect(() => AuditEvent.toJSON(invalid)).toThrow(RangeError);
    expect(() => eventToJson(invalid)).toThrow(RangeError);
  });

  it("reads back every generated event whose values proto3 JSON can carry", () => {
    const r = new Random(42);
    for (let i = 0; i < 2_000; i++) {
      const generated = AuditEvent.fromJSON(AuditEvent.toJSON(event(r, r.pick([0, 0.5]))));
      expect(eventFromJson(JSON.parse(JSON.stringify(eventToJson(generated)))), `event ${i}`).toStrictEqual(
        generated,
      );
    }
  });
});
