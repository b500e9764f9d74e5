// a Recorder closed while calls are in flight, over real gRPC with fail-closed rules. Every
// event after close() is dropped and counted, so a fail-closed call then ends UNAVAILABLE "audit
// unavailable" (with its request id) — also a read whose access event the record policy would have
// skipped: a skip after close can reach no summary, and used to let the read through as "accepted".
import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { CALL_KINDS, callOfKind, METHOD_OF_KIND, startProjectServer } from "../helpers/project-server.js";

function accessRules(): RuleTable {
  const example = auditRules as RuleTable;
  return Object.fromEntries(
    Object.values(METHOD_OF_KIND).map((method) => [
      method,
      { ...example[method], event: "access" } as AuditRule,
    ]),
  ) as RuleTable;
}

const withId = (requestId: string) => {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  metadata.set("x-project-id", "p-1");
  return metadata;
};

describe("fail-closed calls and a closed Recorder", () => {
  it.each([
    ["mutation rules, policy all", auditRules as RuleTable, undefined],
    ["access rules, access failures only", accessRules(), { "resource.access": "failures" } as const],
  ])(
    "%s: every call kind after close ends UNAVAILABLE, its event dropped and counted",
    async (_name, rules, record) => {
      const memory = createMemoryEmitter();
      const recorder = createRecorder({
        service: "projects",
        emitters: [memory],
        ...(record ? { record } : {}),
      });
      const server = await startProjectServer(
        createAuditInterceptors({ recorder, rules, failMode: "closed" }),
      );
      try {
        expect((await callOfKind(server.client, "unary", withId("before"))).code).toBe(status.OK);
        await recorder.close();
        for (const kind of CALL_KINDS) {
          const seen = await callOfKind(server.client, kind, withId(`after-${kind}`));
          expect([kind, seen.code]).toStrictEqual([kind, status.UNAVAILABLE]);
          const sent = seen.headers?.get("x-request-id") ?? seen.trailers.get("x-request-id");
          expect(sent).toStrictEqual([`after-${kind}`]);
        }
        const stats = recorder.stats();
        expect(stats.dropped).toBe(CALL_KINDS.length);
        expect(stats.emitter.dropped).toStrictEqual({}); // dropped by the Recorder: none reached the emitter
      } finally {
        await server.close();
      }
    },
  );

  it("a mutation still in flight when close() stops waiting ends UNAVAILABLE; its event is counted as dropped", async () => {
    // closeWaitMs 0: close() does not wait for the call, which ends after the emitters closed.
    const recorder = createRecorder({
      service: "projects",
      emitters: [createMemoryEmitter()],
      closeWaitMs: 0,
    });
    const server = await startProjectServer(
      createAuditInterceptors({ recorder, rules: auditRules, failMode: "closed" }),
    );
    try {
      let headers: Metadata | undefined;
      const ended = new Promise<{ code: status; details: string; metadata: Metadata }>((resolve) => {
        const call = server.client.createProject({ name: "slow" }, withId("in-flight"), () => {});
        call.on("metadata", (received: Metadata) => {
          headers = received;
        });
        call.on("status", resolve);
      });
      await new Promise((resolve) => setTimeout(resolve, 200)); // the handler is sleeping
      await recorder.close();
      const end = await ended;
      expect([end.code, end.details]).toStrictEqual([status.UNAVAILABLE, "audit unavailable"]);
      // The response message went out first, with the headers: they carry the id.
      expect((headers ?? end.metadata).get("x-request-id")).toStrictEqual(["in-flight"]);
      expect(recorder.stats()).toMatchObject({ accepted: 0, dropped: 1, failed: 0 });
    } finally {
      await server.close();
    }
  });
});
