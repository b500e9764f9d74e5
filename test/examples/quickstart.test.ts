// The README's walkthrough, run: examples/quickstart's server and client over real loopback gRPC, with
// the events read back from the pino lines the log emitter wrote.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, expect, it } from "vitest";
import { runQuickstart } from "../../examples/quickstart/main.js";

const dir = mkdtempSync(join(tmpdir(), "grpc-audit-quickstart-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One pino line of the log emitter: the event in proto3 JSON under `audit`, the kind as `msg`. */
interface LogLine {
  msg: string;
  audit: {
    service: string;
    operation: string;
    actor: { id: string };
    target?: { type: string; id: string };
    result: { success?: boolean; code: string };
    authn?: { method: string; failureReason?: string };
    authz?: { relation: string; objectId: string; decision: string };
    resourceMutation?: { mutation: string; resourceId: string };
  };
}

it("records authn, authz and mutation events for the walkthrough's calls, as the README says", async () => {
  const file = join(dir, "audit.ndjson");
  const calls = await runQuickstart(pino(pino.destination({ dest: file, sync: true })));

  expect(calls).toEqual([
    "alice CreateNote: OK",
    "bob DeleteNote n-1: PERMISSION_DENIED",
    "no token DeleteNote n-1: UNAUTHENTICATED",
    "alice DeleteNote n-1: OK",
  ]);
  const lines = readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as LogLine);
  expect(new Set(lines.map((line) => line.audit.service))).toEqual(new Set(["notes"]));
  const seen = lines.map(({ msg, audit }) => ({
    kind: msg,
    method: audit.operation.replace("/notes.v1.NoteService/", ""),
    actor: audit.actor.id,
    target: audit.target ? `${audit.target.type}:${audit.target.id}` : "",
    code: audit.result.code,
    detail:
      audit.authn?.failureReason ??
      audit.authn?.method ??
      audit.authz?.decision ??
      audit.resourceMutation?.mutation,
  }));
  expect(seen).toEqual([
    // alice creates n-1: CreateNote is public (no authz check), the id comes from the response
    { kind: "authn.result", method: "CreateNote", actor: "alice", target: "", code: "OK", detail: "jwt" },
    {
      kind: "resource.mutation",
      method: "CreateNote",
      actor: "alice",
      target: "note:n-1",
      code: "OK",
      detail: "MUTATION_TYPE_CREATE",
    },
    // bob is not its owner: denied before the handler, so no mutation event
    { kind: "authn.result", method: "DeleteNote", actor: "bob", target: "", code: "OK", detail: "jwt" },
    {
      kind: "authz.decision",
      method: "DeleteNote",
      actor: "bob",
      target: "note:n-1",
      code: "PERMISSION_DENIED",
      detail: "AUTHZ_DECISION_DENIED",
    },
    // no token: refused by authn
    {
      kind: "authn.result",
      method: "DeleteNote",
      actor: "anonymous",
      target: "",
      code: "UNAUTHENTICATED",
      detail: "AUTHN_FAILURE_REASON_MISSING",
    },
    // alice, the owner, deletes it
    { kind: "authn.result", method: "DeleteNote", actor: "alice", target: "", code: "OK", detail: "jwt" },
    {
      kind: "authz.decision",
      method: "DeleteNote",
      actor: "alice",
      target: "note:n-1",
      code: "OK",
      detail: "AUTHZ_DECISION_ALLOWED",
    },
    {
      kind: "resource.mutation",
      method: "DeleteNote",
      actor: "alice",
      target: "note:n-1",
      code: "OK",
      detail: "MUTATION_TYPE_DELETE",
    },
  ]);
});
