import { readFileSync, rmSync } from "node:fs";
import { createLogEmitter } from "../emitters/log-emitter.js";
import { toActor } from "../event/builders.js";
import { eventFromJson } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { createRecorder, type Recorder } from "../recorder/recorder.js";
import { createAuditScope, runInAuditScope } from "../recorder/scope.js";
import { formatEventTable } from "./format.js";

/** Options of the `demo` command. */
export interface DemoOptions {
  /** Where the pino log of audit events is written. */
  log: string;
  /** Print the raw log lines instead of a table. */
  json: boolean;
}

/**
 * Records one event of each kind (and a refused caller) through a Recorder writing to a pino log file,
 * as the interceptors will during real RPCs, then reads the log back and prints it.
 */
export async function runDemo(options: DemoOptions, out: (text: string) => void): Promise<void> {
  rmSync(options.log, { force: true });
  const recorder = createRecorder({
    service: "example.projects",
    emitters: [createLogEmitter({ destination: options.log })],
  });
  recordScriptedCalls(recorder);
  const closed = await recorder.close();
  if (!closed.ok)
    throw new Error(
      `writing ${options.log} failed: ${closed.results.map((r) => r.error?.message).join("; ")}`,
    );

  const lines = readFileSync(options.log, "utf8").trimEnd().split("\n");
  if (options.json) {
    out(lines.join("\n"));
    return;
  }
  const events: AuditEvent[] = lines.map((line) => eventFromJson(JSON.parse(line).audit));
  out(`Recorded ${events.length} audit events to ${options.log} (one pino JSON line each):\n`);
  out(formatEventTable(events));
  out(`\nThe log line of the authz decision:\n${lines[1]}`);
  const stats = recorder.stats();
  out(
    `\naccepted ${stats.accepted}, dropped ${stats.dropped}, failed ${stats.failed}, invalid ${stats.invalid}`,
  );
}

/** Plays two calls as the interceptors would: the audit scope first, then authn, authz, handler. */
function recordScriptedCalls(recorder: Recorder): void {
  const call = (operation: string, requestId: string) =>
    createAuditScope({
      operation: `/example.v1.ProjectService/${operation}`,
      peer: "127.0.0.1:52114",
      metadata: {
        get: (key: string) =>
          key === "x-request-id"
            ? [requestId]
            : key === "traceparent"
              ? ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]
              : [],
      },
    });

  const owner = call("AddMember", "req-owner-1");
  runInAuditScope(owner, () => {
    const actor = { id: "alice", displayName: "Alice Owner", email: "alice@example.com" };
    recorder.recordAuthnResult({ method: "jwt", success: true, actor });
    owner.actor = toActor(actor); // what the authn interceptor does after a success
    recorder.recordAuthzDecision({
      relation: "owner",
      objectType: "project",
      objectId: "apollo",
      decision: "allowed",
    });
    recorder.recordTupleChange({
      tuples: [{ operation: "write", user: "user:bob", relation: "viewer", object: "project:apollo" }],
    });
    recorder.recordResourceMutation({ mutation: "update", resourceType: "project", resourceId: "apollo" });
  });

  const outsider = call("DeleteProject", "req-outsider-1");
  runInAuditScope(outsider, () => {
    recorder.recordAuthnResult({ method: "jwt", success: false, failureReason: "expired" });
    recorder.recordAuthzDecision({
      relation: "owner",
      objectType: "project",
      objectId: "apollo",
      decision: "denied",
      errorReason: "anonymous",
    });
  });
}
