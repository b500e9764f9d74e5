// Random AuditEvents for the tests that hold a hand-written serializer to ts-proto's generated code:
// every field and oneof case, defaults with a chosen probability, strings from a chosen pool.
import type { Duration } from "../../src/gen/google/protobuf/duration.js";
import {
  type Actor,
  ActorType,
  type AuditEvent,
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
  type RecordSummaryDetail,
  type ResourceAccessDetail,
  type ResourceMutationDetail,
  type Result,
  type SkippedCount,
  type Target,
  type TupleChange,
  type TupleChangeDetail,
  type TupleCondition,
  TupleOperation,
} from "../../src/gen/grpcaudit/v1/event.js";

/** A seeded generator (mulberry32), so a failure can be replayed. */
export class Random {
  /** `strings` are the non-empty values string fields and attribute keys are picked from. */
  constructor(
    private state: number,
    readonly strings: readonly string[] = STRINGS,
  ) {}
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

export const STRINGS = [
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
export type Complete<T> = { [K in keyof T]-?: T[K] };
export type Detail = NonNullable<AuditEvent["detail"]>;
export type DetailCase = Detail["$case"];

const string = (r: Random, p: number) => (r.chance(p) ? "" : r.pick(r.strings));
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
  return Object.fromEntries(Array.from({ length: 1 + r.int(3) }, () => [r.pick(r.strings), string(r, p)]));
}

function tupleChange(r: Random, p: number): Complete<TupleChange> {
  return {
    operation: enumValue(r, p, TupleOperation, TupleOperation.TUPLE_OPERATION_UNSPECIFIED),
    user: string(r, p),
    relation: string(r, p),
    object: string(r, p),
    success: boolean(r, p),
    errorReason: string(r, p),
    condition: r.chance(p) ? undefined : tupleCondition(r, p),
  };
}

function tupleCondition(r: Random, p: number): Complete<TupleCondition> {
  // Empty keys too: a repeated string keeps its empty entries.
  const keys = r.chance(p) ? [] : Array.from({ length: 1 + r.int(3) }, () => string(r, p));
  return { name: string(r, p), contextKeys: keys };
}

function skippedCount(r: Random, p: number): Complete<SkippedCount> {
  return { kind: string(r, p), actorId: string(r, p), operation: string(r, p), count: uint64(r, p) };
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
    user: string(r, p),
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
  recordSummary: (r: Random, p: number): Complete<RecordSummaryDetail> => ({
    since: r.chance(p) ? undefined : date(r),
    counts: r.chance(p) ? [] : Array.from({ length: 1 + r.int(3) }, () => skippedCount(r, p)),
    overflow: uint64(r, p),
  }),
} satisfies { [C in DetailCase]: (r: Random, p: number) => Extract<Detail, { $case: C }>["value"] };

export const DETAIL_CASES = Object.keys(DETAILS) as DetailCase[];

function detail(r: Random, p: number, only?: DetailCase): AuditEvent["detail"] {
  if (only === undefined && r.chance(p)) return undefined;
  if (only === undefined && r.chance(0.02)) return { $case: "notInThisSchema" } as unknown as Detail;
  const $case = only ?? r.pick(DETAIL_CASES);
  return { $case, value: DETAILS[$case](r, p) } as Detail;
}

/** An event with each field at its default with probability `p`; `only` forces that oneof case. */
export function event(r: Random, p: number, only?: DetailCase): Complete<AuditEvent> {
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
    instance: string(r, p),
    detail: detail(r, p, only),
  };
}
