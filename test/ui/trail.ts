/**
 * A day of calls recorded by a real Recorder with a signed chain, for the viewer's tests: each call is
 * its authn result, then (if accepted) its authz decision, then (if allowed) its mutation, and for
 * CreateProject its tuple change, all under the call's request id.
 */
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, SIGNING_KEY } from "../chain/trail.js";

/** When the first call happens; one call every 12 minutes from here, 120 calls (a day). */
export const TRAIL_T0 = Date.parse("2026-11-20T00:00:00.000Z");
export const TRAIL_CALLS = 120;
export const TRAIL_ACTORS = ["alice", "bob", "carol", "dave"] as const;
const OPERATIONS = ["CreateProject", "UpdateProject", "DeleteProject"] as const;

/** The request id of call `n`. */
export const requestIdOf = (n: number): string => `req-${String(n).padStart(3, "0")}`;

/** Who makes call `n`: dave is denied everything; every 7th call of the others is denied too. */
export const actorOf = (n: number): (typeof TRAIL_ACTORS)[number] =>
  TRAIL_ACTORS[n % TRAIL_ACTORS.length] as (typeof TRAIL_ACTORS)[number];
export const isDenied = (n: number): boolean => actorOf(n) === "dave" || n % 7 === 0;
/** Every 11th call has an expired token: its authn result fails and nothing else is recorded. */
export const isRefused = (n: number): boolean => n % 11 === 5;

/**
 * The trail's events in recording order, the final checkpoint last; its checkpoints are signed with
 * SIGNING_KEY under `keyId` (default KEY_ID).
 */
export async function recordDay(keyId = KEY_ID): Promise<AuditEvent[]> {
  const memory = createMemoryEmitter({ capacity: 10_000 });
  let clock = TRAIL_T0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(clock),
    chain: { signingKey: SIGNING_KEY, keyId, checkpointEvery: 100 },
  });
  for (let n = 0; n < TRAIL_CALLS; n++) {
    clock = TRAIL_T0 + n * 12 * 60_000;
    const method = OPERATIONS[n % OPERATIONS.length] as (typeof OPERATIONS)[number];
    const project = `p-${n % 5}`;
    const context = {
      operation: `/example.v1.ProjectService/${method}`,
      actor: { id: actorOf(n) },
      requestId: requestIdOf(n),
      peer: "127.0.0.1:50123",
    };
    const step = () => {
      clock += 15;
    };
    if (isRefused(n)) {
      recorder.recordAuthnResult({
        ...context,
        method: "jwt",
        success: false,
        failureReason: "expired",
        result: { success: false, code: 16 },
      });
      continue;
    }
    recorder.recordAuthnResult({ ...context, method: "jwt", success: true });
    step();
    const denied = isDenied(n);
    recorder.recordAuthzDecision({
      ...context,
      relation: "editor",
      objectType: "project",
      objectId: project,
      decision: denied ? "denied" : "allowed",
      ...(denied ? { result: { success: false, code: 7 } } : {}),
    });
    if (denied) continue;
    step();
    if (method === "CreateProject") {
      recorder.recordTupleChange({
        ...context,
        tuples: [
          { operation: "write", user: `user:${actorOf(n)}`, relation: "owner", object: `project:${project}` },
        ],
      });
      step();
    }
    const mutation = method === "CreateProject" ? "create" : method === "UpdateProject" ? "update" : "delete";
    recorder.recordResourceMutation({ ...context, mutation, resourceType: "project", resourceId: project });
  }
  await recorder.close();
  return [...memory.events];
}
