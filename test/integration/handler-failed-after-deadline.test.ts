// A handler that fails after the client's deadline passed, over real loopback gRPC: the event's message
// is the library's words, why the client got no answer, then the handler's message. Whatever the status
// message policy (the Recorder's or the rule's), the library's words are kept; the policy applies to
// the handler's message only.
import { credentials, Metadata, Server, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { ProjectServiceClient, ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder, type RecorderOptions } from "../../src/recorder/recorder.js";
import type { AuditRule } from "../../src/rules/audit-rule.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { holdDeadline } from "../helpers/held-deadline.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { unary } from "../helpers/project-server.js";

const REMOVE = "/example.v1.ProjectService/RemoveMember";
const OURS = "the deadline had passed (DEADLINE_EXCEEDED); the handler failed";

let server: Server | undefined;
let client: ProjectServiceClient | undefined;

afterEach(async () => {
  client?.close();
  if (server !== undefined) await stopServer(server);
  server = undefined;
  client = undefined;
});

/**
 * Calls RemoveMember (record_on_error) with a deadline its handler outlives; the handler then refuses
 * with a message holding a password. The event's result, on a Recorder made with `options`, the rule
 * asking for `rulePolicy` when given.
 */
async function failAfterDeadline(options: Partial<RecorderOptions>, rulePolicy?: AuditRule["statusMessage"]) {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory], ...options });
  const rule = auditRules[REMOVE] as AuditRule;
  const rules = { [REMOVE]: rulePolicy === undefined ? rule : { ...rule, statusMessage: rulePolicy } };
  server = new Server({ interceptors: createAuditInterceptors({ recorder, rules }) });
  const some: Partial<AsyncServiceImplementation<typeof ProjectServiceService>> = {
    async removeMember(call) {
      await new Promise((resolve) => call.once("cancelled", resolve));
      throw { code: status.FAILED_PRECONDITION, details: "db password=hunter2 refused" };
    },
  };
  const handlers = asyncService(
    ProjectServiceService,
    some as AsyncServiceImplementation<typeof ProjectServiceService>,
  );
  server.addService(ProjectServiceService, handlers);
  const port = await listenOnLoopback(server);
  client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  // A deadline the server reads as the client's (a server that read the call late recorded a cancel), far
  // enough for the new connection and the call to reach the server on a loaded machine.
  const clock = holdDeadline();
  try {
    const [error] = await unary(
      client.removeMember.bind(client),
      { projectId: "p-1", memberId: 7 },
      new Metadata(),
      { deadline: clock.deadline },
    );
    clock.passed();
    expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
    const [event] = await memory.waitForCount(1);
    await recorder.close();
    return event?.result;
  } finally {
    clock.release();
  }
}

describe("a handler that failed after the deadline", () => {
  it("keeps the library's words and leaves out the handler's under the Recorder's statusMessages \"omit\"", async () => {
    expect(await failAfterDeadline({ statusMessages: "omit" })).toStrictEqual({
      success: false,
      code: "FAILED_PRECONDITION",
      message: OURS,
    });
  });

  it("keeps the library's words and leaves out the handler's under a rule's statusMessage \"omit\"", async () => {
    expect(await failAfterDeadline({ statusMessages: "record" }, "omit")).toStrictEqual({
      success: false,
      code: "FAILED_PRECONDITION",
      message: OURS,
    });
  });
});
