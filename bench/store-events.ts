// The events of the store benchmarks (SQLite and PostgreSQL): the same million for both.
import { newEventId } from "../src/event/ids.js";
import {
  ActorType,
  type AuditEvent,
  AuthzDecision,
  EventType,
  MutationType,
} from "../src/gen/grpcaudit/v1/event.js";

/** Distinct actors of the benchmark events. */
export const ACTORS = 1000;
/** The time of the first benchmark event; event i occurs i seconds later. */
export const T0 = Date.parse("2026-11-01T00:00:00Z");

/** Benchmark event number `i`: an authz decision or a mutation of one of 5000 projects by one of 1000 actors. */
export function benchEvent(i: number): AuditEvent {
  const actorId = `user-${i % ACTORS}`;
  const authz = i % 2 === 0;
  return {
    eventId: newEventId(),
    eventType: authz ? EventType.EVENT_TYPE_AUTHZ_DECISION : EventType.EVENT_TYPE_RESOURCE_MUTATION,
    schemaVersion: 1,
    occurredAt: new Date(T0 + i * 1000),
    service: "projects",
    operation: `/example.v1.ProjectService/${authz ? "GetProject" : "UpdateProject"}`,
    actor: {
      id: actorId,
      type: ActorType.ACTOR_TYPE_USER,
      displayName: "",
      email: `${actorId}@example.com`,
      subject: actorId,
      clientId: "web",
      realm: "",
    },
    target: { type: "project", id: `p-${i % 5000}`, name: "" },
    result: { success: i % 10 !== 0, code: i % 10 === 0 ? "PERMISSION_DENIED" : "OK", message: "" },
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    requestId: `req-${i}`,
    peer: "127.0.0.1:50000",
    duration: { seconds: 0, nanos: 1_500_000 },
    userAgent: "grpc-node-js/1.14.7",
    chain: undefined,
    payload: undefined,
    attributes: {},
    instance: "",
    detail: authz
      ? {
          $case: "authz",
          value: {
            relation: "viewer",
            objectType: "project",
            objectId: `p-${i % 5000}`,
            decision:
              i % 10 === 0 ? AuthzDecision.AUTHZ_DECISION_DENIED : AuthzDecision.AUTHZ_DECISION_ALLOWED,
            cacheHit: false,
            errorReason: "",
            storeId: "",
            modelId: "",
            user: "",
          },
        }
      : {
          $case: "resourceMutation",
          value: {
            mutation: MutationType.MUTATION_TYPE_UPDATE,
            resourceType: "project",
            resourceId: `p-${i % 5000}`,
          },
        },
  };
}
