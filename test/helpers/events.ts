/**
 * Fixed, fully populated audit events and fake emitters for emitter tests.
 *
 * Every field of every sample event is set (time and ids are fixed), so a test that compares whole
 * events with `toStrictEqual` notices any field that is lost, added or changed on the way through a sink.
 */
import type { Emitter, EmitterStats, FlushReport } from "../../src/emitters/emitter.js";
import { createMemoryEmitter, type MemoryEmitter } from "../../src/emitters/memory-emitter.js";
import {
  ActorType,
  type AuditEvent,
  AuthnFailureReason,
  AuthzDecision,
  EventType,
  MutationType,
  PayloadCapture,
  TupleOperation,
} from "../../src/gen/grpcaudit/v1/event.js";

/** The time every sample event happened at. */
export const SAMPLE_TIME = "2026-01-02T03:04:05.678Z";

/** The four kinds of detail an event can carry (the `$case` of `AuditEvent.detail`). */
export type DetailKind = NonNullable<AuditEvent["detail"]>["$case"];

export const DETAIL_KINDS: readonly DetailKind[] = [
  "authn",
  "authz",
  "tupleChange",
  "resourceMutation",
  "resourceAccess",
  "checkpoint",
  "recordSummary",
];

/** Fixed UUIDv7 ids (their time part is SAMPLE_TIME), one per kind. */
export const SAMPLE_IDS: Readonly<Record<DetailKind, string>> = {
  authn: "019b7ca9-8f2e-7000-8000-000000000001",
  authz: "019b7ca9-8f2e-7000-8000-000000000002",
  tupleChange: "019b7ca9-8f2e-7000-8000-000000000003",
  resourceMutation: "019b7ca9-8f2e-7000-8000-000000000004",
  resourceAccess: "019b7ca9-8f2e-7000-8000-000000000005",
  checkpoint: "019b7ca9-8f2e-7000-8000-000000000006",
  recordSummary: "019b7ca9-8f2e-7000-8000-000000000007",
};

/** Per kind: the event type, detail, target and result that belong together. */
function kindFields(kind: DetailKind): Pick<AuditEvent, "eventType" | "detail" | "target" | "result"> {
  switch (kind) {
    case "authn":
      return {
        eventType: EventType.EVENT_TYPE_AUTHN_RESULT,
        target: { type: "service", id: "acme.projects.v1.ProjectService", name: "Projects" },
        result: { success: false, code: "UNAUTHENTICATED", message: "credential expired" },
        detail: {
          $case: "authn",
          value: {
            method: "jwt",
            success: false,
            failureReason: AuthnFailureReason.AUTHN_FAILURE_REASON_EXPIRED,
          },
        },
      };
    case "authz":
      return {
        eventType: EventType.EVENT_TYPE_AUTHZ_DECISION,
        target: { type: "project", id: "p-42", name: "Apollo" },
        result: { success: false, code: "PERMISSION_DENIED", message: "access denied" },
        detail: {
          $case: "authz",
          value: {
            relation: "editor",
            objectType: "project",
            objectId: "p-42",
            decision: AuthzDecision.AUTHZ_DECISION_DENIED,
            cacheHit: true,
            errorReason: "anonymous",
            storeId: "01HSTORE00000000000000000",
            modelId: "01HMODEL00000000000000000",
            user: "",
          },
        },
      };
    case "tupleChange":
      return {
        eventType: EventType.EVENT_TYPE_TUPLE_CHANGED,
        target: { type: "project", id: "p-42", name: "Apollo" },
        result: { success: false, code: "ABORTED", message: "one tuple change failed" },
        detail: {
          $case: "tupleChange",
          value: {
            tuples: [
              {
                operation: TupleOperation.TUPLE_OPERATION_WRITE,
                user: "user:alice",
                relation: "viewer",
                object: "project:p-42",
                success: true,
                errorReason: "",
                condition: undefined,
              },
              {
                operation: TupleOperation.TUPLE_OPERATION_DELETE,
                user: "team:core#member",
                relation: "editor",
                object: "project:p-42",
                success: false,
                errorReason: "not_found",
                condition: undefined,
              },
            ],
            storeId: "01HSTORE00000000000000000",
            modelId: "01HMODEL00000000000000000",
          },
        },
      };
    case "resourceMutation":
      return {
        eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION,
        target: { type: "project", id: "p-42", name: "Apollo" },
        result: { success: true, code: "OK", message: "project updated" },
        detail: {
          $case: "resourceMutation",
          value: {
            mutation: MutationType.MUTATION_TYPE_UPDATE,
            resourceType: "project",
            resourceId: "p-42",
          },
        },
      };
    case "resourceAccess":
      return {
        eventType: EventType.EVENT_TYPE_RESOURCE_ACCESS,
        target: { type: "project", id: "p-42", name: "Apollo" },
        result: { success: true, code: "OK", message: "" },
        detail: { $case: "resourceAccess", value: { resourceType: "project", resourceId: "p-42" } },
      };
    case "checkpoint":
      return {
        eventType: EventType.EVENT_TYPE_CHAIN_CHECKPOINT,
        target: undefined,
        result: { success: true, code: "OK", message: "" },
        detail: {
          $case: "checkpoint",
          value: {
            headSeq: 41,
            headHash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            keyId: "audit-2026",
            signature: "c2lnbmF0dXJl",
            final: true,
          },
        },
      };
    case "recordSummary":
      return {
        eventType: EventType.EVENT_TYPE_RECORD_SUMMARY,
        target: undefined,
        result: { success: true, code: "OK", message: "" },
        detail: {
          $case: "recordSummary",
          value: {
            since: new Date("2026-01-02T03:03:05.678Z"),
            counts: [
              {
                kind: "authz.decision",
                actorId: "user-7",
                operation: "/acme.projects.v1.ProjectService/GetProject",
                count: 12,
              },
              {
                kind: "authn.result",
                actorId: "anonymous",
                operation: "/acme.projects.v1.ProjectService/ListProjects",
                count: 3,
              },
            ],
            overflow: 2,
          },
        },
      };
  }
}

/** Overrides of `sampleEvent`: any event field, and `kind` to pick the detail (default "authz"). */
export type SampleOverrides = Partial<AuditEvent> & { kind?: DetailKind };

/**
 * A complete audit event with every field set. `kind` picks the detail and the matching event type,
 * target and result; other overrides replace fields as given.
 */
export function sampleEvent(overrides: SampleOverrides = {}): AuditEvent {
  const { kind = "authz", ...fields } = overrides;
  return {
    eventId: SAMPLE_IDS[kind],
    schemaVersion: 1,
    occurredAt: new Date(SAMPLE_TIME),
    service: "projects",
    operation: "/acme.projects.v1.ProjectService/UpdateProject",
    actor: {
      id: "user-7",
      type: ActorType.ACTOR_TYPE_USER,
      displayName: "Alice Example",
      email: "alice@example.com",
      subject: "auth0|user-7",
      clientId: "web-console",
      realm: "acme",
    },
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    requestId: "req-0001",
    peer: "127.0.0.1:53412",
    duration: { seconds: 1, nanos: 250_000_000 },
    userAgent: "grpc-node-js/1.14.7",
    chain: {
      chainId: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
      seq: 42,
      prevHash: "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
      hash: "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
    },
    payload: {
      capture: PayloadCapture.PAYLOAD_CAPTURE_DIGEST,
      keyId: "k-2026",
      requestDigest: "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c",
      responseDigest: "7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730",
      requestCount: 1,
      responseCount: 1,
      requestJson: "",
      responseJson: "",
    },
    attributes: { reason: "quarterly review", tenant: "acme" },
    instance: "",
    ...kindFields(kind),
    ...fields,
  };
}

/** One sample event of each kind, in the order of DETAIL_KINDS. */
export function sampleEvents(): AuditEvent[] {
  return DETAIL_KINDS.map((kind) => sampleEvent({ kind }));
}

const okReport = (name: string): FlushReport => ({ ok: true, results: [{ emitter: name, status: "ok" }] });

const zeroStats = (name: string): EmitterStats => ({ name, emitted: 0, dropped: {}, failed: 0 });

/** An emitter whose `emit` throws (breaking the Emitter contract); flush and close succeed. */
export function throwingEmitter(name = "throwing", message = "sink exploded"): Emitter {
  return {
    name,
    emit() {
      throw new Error(message);
    },
    flush: async () => okReport(name),
    close: async () => okReport(name),
    stats: () => zeroStats(name),
  };
}

/** An emitter that accepts events but whose `flush` and `close` never settle. */
export function hangingEmitter(
  name = "hanging",
): Emitter & { readonly calls: { flush: number; close: number } } {
  const calls = { flush: 0, close: 0 };
  return {
    name,
    calls,
    emit: () => "accepted",
    flush() {
      calls.flush++;
      return new Promise<FlushReport>(() => {});
    },
    close() {
      calls.close++;
      return new Promise<FlushReport>(() => {});
    },
    stats: () => zeroStats(name),
  };
}

/** An emitter that accepts events but whose `flush` and `close` reject (breaking the Emitter contract). */
export function rejectingEmitter(name = "rejecting", message = "flush exploded"): Emitter {
  return {
    name,
    emit: () => "accepted",
    flush: () => Promise.reject(new Error(message)),
    close: () => Promise.reject(new Error(message)),
    stats: () => zeroStats(name),
  };
}

/** A memory emitter that counts how often flush and close were called and how often they completed. */
export interface RecordingEmitter extends MemoryEmitter {
  readonly calls: { flush: number; close: number };
  readonly completed: { flush: number; close: number };
}

/** A healthy memory emitter whose `flush`/`close` take `delayMs` and record that they ran to the end. */
export function recordingEmitter(name = "recording", delayMs = 0): RecordingEmitter {
  const memory = createMemoryEmitter({ name });
  const calls = { flush: 0, close: 0 };
  const completed = { flush: 0, close: 0 };
  const original = { flush: memory.flush, close: memory.close };
  const track = (action: "flush" | "close") => async () => {
    calls[action]++;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const report = await original[action]();
    completed[action]++;
    return report;
  };
  return Object.assign(memory, { calls, completed, flush: track("flush"), close: track("close") });
}
