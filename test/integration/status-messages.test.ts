import { Metadata, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import {
  createAuditInterceptors,
  createRecorder,
  eventToJson,
  type RecorderOptions,
} from "../../src/index.js";
import { createMemoryEmitter } from "../../src/testing/index.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const LEAK = "db password=hunter2 refused";

describe("status messages of a handler's error, over real gRPC", () => {
  let server: ProjectServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Serves with a Recorder made with `options`; the handler refuses with LEAK. The client's error and the event. */
  async function leakyCall(options: Partial<RecorderOptions>) {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory], ...options });
    server = await startProjectServer(createAuditInterceptors({ recorder, rules: auditRules }));
    const metadata = new Metadata();
    const [error] = await unary(server.client.createProject.bind(server.client), { name: "leaky" }, metadata);
    const [event] = await memory.waitForCount(1);
    if (event === undefined) throw new Error("no event");
    return {
      client: [error?.code, error?.details],
      result: event.result,
      whole: JSON.stringify(eventToJson(event)),
    };
  }

  it("stores the message verbatim by default: the password reaches the trail", async () => {
    const { client, result } = await leakyCall({});
    expect(client).toStrictEqual([status.FAILED_PRECONDITION, LEAK]);
    expect(result).toStrictEqual({ success: false, code: "FAILED_PRECONDITION", message: LEAK });
  });

  it("redacts what a pattern matches, and nothing of the password is in the event", async () => {
    const { client, result, whole } = await leakyCall({ redactPatterns: [/password=\S+/] });
    expect(client).toStrictEqual([status.FAILED_PRECONDITION, LEAK]); // the caller's answer is unchanged
    expect(result).toStrictEqual({
      success: false,
      code: "FAILED_PRECONDITION",
      message: "db [redacted] refused",
    });
    expect(whole).not.toContain("hunter2");
  });

  it('stores no message with statusMessages "omit"', async () => {
    const { client, result, whole } = await leakyCall({ statusMessages: "omit" });
    expect(client).toStrictEqual([status.FAILED_PRECONDITION, LEAK]);
    expect(result).toStrictEqual({ success: false, code: "FAILED_PRECONDITION", message: "" });
    expect(whole).not.toContain("hunter2");
  });
});

describe("a rule's own status message policy, over real gRPC", () => {
  let server: ProjectServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const create = auditRules["/example.v1.ProjectService/CreateProject"];

  /** The event of a leaky CreateProject whose rule asks for `policy`, on a Recorder made with `options`. */
  async function leakyCall(policy: "omit" | "truncate" | "record", options: Partial<RecorderOptions>) {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory], ...options });
    const rules = { [create.method]: { ...create, statusMessage: policy } };
    server = await startProjectServer(createAuditInterceptors({ recorder, rules }));
    const [error] = await unary(
      server.client.createProject.bind(server.client),
      { name: "leaky" },
      new Metadata(),
    );
    expect([error?.code, error?.details]).toStrictEqual([status.FAILED_PRECONDITION, LEAK]); // the caller's answer
    const [event] = await memory.waitForCount(1);
    if (event === undefined) throw new Error("no event");
    return { message: event.result?.message, whole: JSON.stringify(eventToJson(event)) };
  }

  it('"omit" keeps nothing of the message although the Recorder records messages', async () => {
    const { message, whole } = await leakyCall("omit", { statusMessages: "record" });
    expect(message).toBe("");
    expect(whole).not.toContain("hunter2");
  });

  it('"record" keeps the message although the Recorder omits messages', async () => {
    expect((await leakyCall("record", { statusMessages: "omit" })).message).toBe(LEAK);
  });

  it('"record" and "truncate" still redact with the Recorder\'s patterns', async () => {
    const options = { statusMessages: "omit" as const, redactPatterns: [/password=\S+/] };
    for (const policy of ["record", "truncate"] as const) {
      const { message, whole } = await leakyCall(policy, options);
      expect(message).toBe("db [redacted] refused");
      expect(whole).not.toContain("hunter2");
      await server?.close();
      server = undefined;
    }
  });
});
