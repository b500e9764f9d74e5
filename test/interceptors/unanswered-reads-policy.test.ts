// Reads whose client did not get the answer (a cancel, a passed deadline) under the record policy
// { "resource.access": "failures" }, over real loopback gRPC, read back from a real pino log file.
// Their asyncService handler finished OK, so the event says success: true, and the policy used to
// skip them as successes; "failures" records every read that did not end OK for its client.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { startProjectServer, unary } from "../helpers/project-server.js";

const ARCHIVE = "/example.v1.ProjectService/ArchiveProject";
const GET = "/example.v1.ProjectService/GetProject";

const withId = (requestId: string) => {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  return metadata;
};

describe("record policy resource.access failures", () => {
  it("records a read whose client cancelled or whose deadline passed, though its handler finished OK", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "unanswered-reads-")), "audit.ndjson");
    const recorder = createRecorder({
      service: "projects",
      emitters: [{ kind: "log", destination: path, sync: true }],
      record: { "resource.access": "failures" },
    });
    const table = auditRules as RuleTable;
    // Access rules without recordOnError: the unanswered reads are recorded whatever it says.
    const rules: RuleTable = {
      [ARCHIVE]: { ...table[ARCHIVE], event: "access" } as AuditRule,
      [GET]: { ...table[GET], event: "access" } as AuditRule,
    };
    const server = await startProjectServer(createAuditInterceptors({ recorder, rules }));
    try {
      // ArchiveProject of "hang" answers only once cancelled, then returns OK: the client never gets it.
      const hang = (requestId: string, deadline?: number) => {
        const call = server.client.archiveProject(
          { projectId: "hang" },
          withId(requestId),
          deadline === undefined ? {} : { deadline },
        );
        call.on("data", () => {});
        call.on("error", () => {});
        return { call, ended: new Promise<number>((resolve) => call.on("status", (s) => resolve(s.code))) };
      };
      const deadline = hang("deadline", Date.now() + 1500);
      expect(await deadline.ended).toBe(status.DEADLINE_EXCEEDED);
      const cancelled = hang("cancel");
      await expect.poll(() => server.seenScopes.length).toBe(2); // its handler runs
      cancelled.call.cancel();
      expect(await cancelled.ended).toBe(status.CANCELLED);
      // A read that ended OK for its client is still a success: counted, not recorded.
      const [error] = await unary(server.client.getProject.bind(server.client), { id: "p-1" }, withId("ok"));
      expect(error).toBeNull();
    } finally {
      await server.close();
    }
    await recorder.close(); // waits for the unanswered calls' records

    const events = readFileSync(path, "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    const reads = events
      .filter((line) => line.msg === "resource.access")
      .map(({ audit }) => [audit.requestId, audit.operation, audit.target.id, audit.result]);
    expect(reads).toStrictEqual([
      [
        "deadline",
        ARCHIVE,
        "hang",
        {
          success: true,
          code: "OK",
          message: "the deadline had passed (DEADLINE_EXCEEDED); the handler finished OK",
        },
      ],
      [
        "cancel",
        ARCHIVE,
        "hang",
        {
          success: true,
          code: "OK",
          message:
            "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK",
        },
      ],
    ]);
    expect(recorder.stats().skipped.counts).toStrictEqual([
      { kind: "resource.access", actor: "anonymous", operation: GET, count: 1 },
    ]);
  });
});
