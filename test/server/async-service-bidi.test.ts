// A bidi asyncService handler that reads with a plain `for await (… of call)` ends its call with a status,
// over real loopback gRPC with the audit chain: Node's default iterator destroyed the duplex stream when
// the loop ended, and the call hung to its deadline.
import {
  type ClientDuplexStream,
  credentials,
  Server,
  type ServerDuplexStream,
  type StatusObject,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type MemberChange,
  type MemberChangeResult,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

/** The member id after which the handler leaves its loop early, with the client still sending. */
const STOP = 99;

const memory = createMemoryEmitter();
let server: Server;
let client: ProjectServiceClient;

beforeAll(async () => {
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: auditRules }) });
  const handlers = {
    async syncMembers(call: ServerDuplexStream<MemberChange, MemberChangeResult>) {
      for await (const change of call) {
        const memberId = (change as MemberChange).member?.memberId ?? 0;
        call.write({ memberId, applied: true });
        if (memberId === STOP) break;
      }
      call.write({ memberId: 0, applied: false }); // a write after the loop still reaches the client
    },
  };
  server.addService(
    ProjectServiceService,
    asyncService(ProjectServiceService, handlers as never) as UntypedServiceImplementation,
  );
  const port = await listenOnLoopback(server);
  client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await stopServer(server);
});

/** Sends a change for each member id, ends the stream when `end`, and resolves with what came back. */
function syncMembers(memberIds: number[], end: boolean) {
  return new Promise<{ code: status; details: string; received: number[] }>((resolve) => {
    const stream: ClientDuplexStream<MemberChange, MemberChangeResult> = client.syncMembers({
      deadline: Date.now() + 5000,
    });
    const received: number[] = [];
    stream.on("data", (result: MemberChangeResult) => received.push(result.memberId));
    stream.on("error", () => {}); // the status below says it all
    stream.on("status", ({ code, details }: StatusObject) => resolve({ code, details, received }));
    for (const memberId of memberIds) {
      stream.write({ member: { memberId, projectId: "p-1", userId: "u-1", role: "viewer" } });
    }
    if (end) stream.end();
  });
}

/** Success, code and message of the next SyncMembers event. */
async function recordedResult() {
  const event = await memory.waitFor((e) => e.detail?.$case === "resourceMutation");
  memory.clear();
  return [event.result?.success, event.result?.code, event.result?.message];
}

describe("asyncService bidi handlers reading with a plain for await", () => {
  it("end with OK after reading the client's stream to its end", async () => {
    expect(await syncMembers([1, 2], true)).toStrictEqual({
      code: status.OK,
      details: "OK",
      received: [1, 2, 0],
    });
    expect(await recordedResult()).toStrictEqual([true, "OK", ""]);
  });

  it("end with OK after leaving the loop early, the client still sending", async () => {
    expect(await syncMembers([STOP], false)).toStrictEqual({
      code: status.OK,
      details: "OK",
      received: [STOP, 0],
    });
    expect(await recordedResult()).toStrictEqual([true, "OK", ""]);
  });
});
