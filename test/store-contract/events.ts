/**
 * Events for the store contract suite: made by a real Recorder (all four kinds, actors, operations,
 * targets, results, decisions, request and trace ids varying independently), and the reference
 * semantics of a filter applied in memory.
 */
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventKind } from "../../src/event/kinds.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuditQuery } from "../../src/store/query.js";

export const T0 = Date.parse("2026-11-20T00:00:00.000Z");
export const ACTORS = ["alice", "bob", "carol"];
export const OPERATIONS = [
  "/example.v1.ProjectService/CreateProject",
  "/example.v1.ProjectService/UpdateProject",
  "/example.v1.ProjectService/DeleteProject",
];
export const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const DECISIONS = ["allowed", "denied", "no_rule", "error"] as const;

/** `count` events from index `start`, one every `stepMs` after T0 (7 minutes: a few days for 1000). */
export function recordedEvents(count: number, start = 0, stepMs = 7 * 60_000): AuditEvent[] {
  const memory = createMemoryEmitter({ capacity: count });
  let n = start;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(T0 + n * stepMs),
  });
  for (; n < start + count; n++) {
    const context = {
      operation: OPERATIONS[Math.abs(n) % 3] as string,
      actor: { id: ACTORS[Math.abs(n) % ACTORS.length] as string },
      requestId: `req-${Math.abs(n) % 7}`,
      traceId: n % 3 === 0 ? TRACE : "",
      result: { success: n % 5 !== 0, code: n % 5 === 0 ? 7 : 0 },
    };
    const project = `p-${Math.abs(n) % 11}`;
    switch (Math.abs(n) % 4) {
      case 0:
        recorder.recordAuthnResult({ ...context, method: "jwt", success: true });
        break;
      case 1:
        recorder.recordAuthzDecision({
          ...context,
          relation: "editor",
          objectType: "project",
          objectId: project,
          decision: DECISIONS[(Math.abs(n) >> 2) % 4] as (typeof DECISIONS)[number],
        });
        break;
      case 2:
        recorder.recordTupleChange({
          ...context,
          tuples: [
            { operation: "write", user: "user:bob", relation: "viewer", object: `project:${project}` },
          ],
          target: { type: "project", id: project },
        });
        break;
      default:
        recorder.recordResourceMutation({
          ...context,
          mutation: "update",
          resourceType: "project",
          resourceId: project,
        });
    }
  }
  return [...memory.events];
}

const time = (e: AuditEvent) => e.occurredAt?.getTime() ?? 0;

/** The events `filter` selects, applied in memory, newest first (ties: later inserted first). */
export function expectedIds(events: readonly AuditEvent[], filter: AuditQuery): string[] {
  const decision = (e: AuditEvent) =>
    e.detail?.$case === "authz" ? e.detail.value.decision.replace("AUTHZ_DECISION_", "").toLowerCase() : "";
  const types =
    filter.type === undefined ? undefined : typeof filter.type === "string" ? [filter.type] : filter.type;
  return events
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => filter.from === undefined || time(e) >= filter.from.getTime())
    .filter(({ e }) => filter.to === undefined || time(e) < filter.to.getTime())
    .filter(({ e }) => types === undefined || types.includes(eventKind(e.eventType) as never))
    .filter(({ e }) => filter.actorId === undefined || e.actor?.id === filter.actorId)
    .filter(({ e }) => filter.targetType === undefined || e.target?.type === filter.targetType)
    .filter(({ e }) => filter.targetId === undefined || e.target?.id === filter.targetId)
    .filter(({ e }) => filter.operation === undefined || e.operation === filter.operation)
    .filter(({ e }) => filter.service === undefined || e.service === filter.service)
    .filter(({ e }) => filter.success === undefined || e.result?.success === filter.success)
    .filter(({ e }) => filter.decision === undefined || decision(e) === filter.decision)
    .filter(({ e }) => filter.requestId === undefined || e.requestId === filter.requestId)
    .filter(({ e }) => filter.traceId === undefined || e.traceId === filter.traceId)
    .filter(({ e }) => filter.eventId === undefined || e.eventId === filter.eventId)
    .sort((a, b) => time(b.e) - time(a.e) || b.i - a.i)
    .map(({ e }) => e.eventId);
}
