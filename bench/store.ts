// The embedded SQLite store: 1,000,000 events inserted in batches (events/s), then the first page of
// a filtered query for one actor, and the same for a target and for denied decisions (ms). Part of
// `npm run bench`; BENCH_STORE_EVENTS changes the count.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { newEventId } from "../src/event/ids.js";
import {
  ActorType,
  type AuditEvent,
  AuthzDecision,
  EventType,
  MutationType,
} from "../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../src/store/audit-store.js";
import type { AuditQuery } from "../src/store/query.js";
import { median, writeResults } from "./results.js";

const EVENTS = Number(process.env.BENCH_STORE_EVENTS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_STORE_BATCH ?? 20_000);
const ACTORS = 1000;
const T0 = Date.parse("2026-11-01T00:00:00Z");

function event(i: number): AuditEvent {
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

const dir = mkdtempSync(join(tmpdir(), "grpc-audit-store-bench-"));
const path = join(dir, "audit.db");
const store = openAuditStore({ path });

let insertMs = 0;
for (let start = 0; start < EVENTS; start += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, EVENTS - start) }, (_, k) => event(start + k));
  const t = performance.now();
  store.insert(batch);
  insertMs += performance.now() - t;
  if ((start / BATCH) % 100 === 0) process.stderr.write(`store: ${start} events inserted\r`);
}
const insertsPerSec = (EVENTS / insertMs) * 1000;

function firstPageMs(filter: AuditQuery): number {
  const times = Array.from({ length: 20 }, (_, k) => {
    const t = performance.now();
    const page = store.query(
      typeof filter.actorId === "string" ? { ...filter, actorId: `user-${(k * 37) % ACTORS}` } : filter,
      { limit: 50 },
    );
    if (page.events.length === 0) throw new Error("the benchmark query found nothing");
    return performance.now() - t;
  });
  return median(times);
}

const table = [
  {
    measure: `insert ${EVENTS} events in batches of ${BATCH}`,
    value: `${Math.round(insertsPerSec)} events/s`,
    target: "≥ 50000 events/s",
  },
  {
    measure: "first page (50), one actor",
    value: `${firstPageMs({ actorId: "user-1" }).toFixed(2)} ms`,
    target: "< 50 ms",
  },
  {
    measure: "first page (50), one target",
    value: `${firstPageMs({ targetType: "project", targetId: "p-42" }).toFixed(2)} ms`,
    target: "",
  },
  {
    measure: "first page (50), denied decisions",
    value: `${firstPageMs({ decision: "denied" }).toFixed(2)} ms`,
    target: "",
  },
  {
    measure: "first page (50), actor + last 24 h",
    value: `${firstPageMs({ actorId: "user-1", from: new Date(T0 + (EVENTS - 86_400) * 1000) }).toFixed(2)} ms`,
    target: "",
  },
];
const sizeMb = statSync(path).size / 1e6;
console.log(`\nSQLite store, ${EVENTS} events (${sizeMb.toFixed(0)} MB file), node ${process.version}`);
console.table(table);
writeResults("store", { events: EVENTS, insertsPerSec, table, fileMb: sizeMb });
store.close();
rmSync(dir, { recursive: true, force: true });
