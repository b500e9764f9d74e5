// A client-streaming or bidi call its client cancels mid-stream, over real loopback gRPC: a grpc-js
// client first ends its messages, then resets the stream, so the handler's loop ends as at a
// half-close and its status goes out before the reset arrives. The event must still say the call was
// cancelled, with what the handler did.

import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  type ClientDuplexStream,
  type ClientWritableStream,
  credentials,
  Metadata,
  Server,
  type ServerDuplexStream,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServerWritableStream,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  AddMemberRequest,
  type ArchiveProgress,
  type ArchiveProjectRequest,
  type ImportMembersResponse,
  type MemberChange,
  type MemberChangeResult,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createAuditScope } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { callStreamOf, noteCallStream } from "../../src/interceptors/call-stream.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { asyncService } from "../../src/server/async-service.js";
import { leftOpenCall } from "../helpers/left-open-call.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { requestIdMetadata } from "../helpers/request-id-metadata.js";

const CANCELLED_OK =
  "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK";
const ADD: AddMemberRequest = { projectId: "p-7", userId: "u", role: "viewer" };
const CHANGE = { member: { memberId: 7, projectId: "p-7", userId: "u", role: "viewer" } } as MemberChange;

type Kind = "asyncService" | "plain";

interface Running {
  server: Server;
  port: number;
  client: ProjectServiceClient;
  recorder: Recorder;
  memory: ReturnType<typeof createMemoryEmitter>;
  /** Resolves at the next request message a handler receives. */
  received(): Promise<void>;
}

let running: Running | undefined;

afterEach(async () => {
  running?.client.close();
  running?.server.forceShutdown();
  await running?.recorder.close();
  running = undefined;
});

/** Handlers that read to the end of the client's messages, then answer OK. */
async function start(kind: Kind, before: ServerInterceptor[] = []): Promise<Running> {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const server = new Server({
    interceptors: [...before, ...createAuditInterceptors({ recorder, rules: auditRules })],
  });
  let onMessage = () => {};
  const received = () => new Promise<void>((resolve) => (onMessage = resolve));
  const result = { memberId: 7, applied: true } as MemberChangeResult;
  const handlers =
    kind === "asyncService"
      ? asyncService(ProjectServiceService, {
          async importMembers(call: AsyncIterable<AddMemberRequest>) {
            let imported = 0;
            for await (const _ of call) {
              imported++;
              onMessage();
            }
            return { projectId: "p-7", imported } as ImportMembersResponse;
          },
          async syncMembers(call: ServerDuplexStream<MemberChange, MemberChangeResult>) {
            for await (const _ of call) {
              call.write(result);
              onMessage();
            }
          },
          // Writes progress until the call is cut off: pipeline() then throws "Premature close".
          async archiveProject(call: ServerWritableStream<ArchiveProjectRequest, ArchiveProgress>) {
            async function* progress() {
              for (let percent = 0; ; percent++) {
                yield { projectId: call.request.projectId, percent } as ArchiveProgress;
                onMessage();
                await new Promise((resolve) => setTimeout(resolve, 5));
              }
            }
            await pipeline(Readable.from(progress()), call as unknown as NodeJS.WritableStream);
          },
        } as never)
      : {
          importMembers(
            call: NodeJS.EventEmitter,
            callback: (error: null, response: ImportMembersResponse) => void,
          ) {
            let imported = 0;
            call.on("data", () => {
              imported++;
              onMessage();
            });
            call.on("end", () => callback(null, { projectId: "p-7", imported } as ImportMembersResponse));
          },
          syncMembers(call: NodeJS.EventEmitter & { write(m: unknown): void; end(): void }) {
            call.on("data", () => {
              call.write(result);
              onMessage();
            });
            call.on("end", () => call.end());
          },
        };
  server.addService(ProjectServiceService, handlers as never);
  const port = await listenOnLoopback(server);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  running = { server, port, client, recorder, memory, received };
  return running;
}

/** Sends one message, then cancels (`cancel`) or ends the call once the handler has it; the client's code. */
async function importMembers(run: Running, requestId: string, finish: "cancel" | "end"): Promise<number> {
  let call: ClientWritableStream<AddMemberRequest> | undefined;
  const done = new Promise<number>((resolve) => {
    call = run.client.importMembers(requestIdMetadata(requestId), (error: ServiceError | null) =>
      resolve(error?.code ?? status.OK),
    );
  });
  const received = run.received();
  call?.write(ADD);
  await settled(received);
  if (finish === "cancel") call?.cancel();
  else call?.end();
  return done;
}

async function syncMembers(run: Running, requestId: string, finish: "cancel" | "end"): Promise<number> {
  const call: ClientDuplexStream<MemberChange, MemberChangeResult> = run.client.syncMembers(
    requestIdMetadata(requestId),
  );
  const done = new Promise<number>((resolve) => {
    call.on("data", () => {});
    call.on("error", () => {});
    call.on("status", (end: { code: number }) => resolve(end.code));
  });
  const received = run.received();
  call.write(CHANGE);
  await settled(received);
  if (finish === "cancel") call.cancel();
  else call.end();
  return done;
}

const CALLS = { importMembers, syncMembers };

/**
 * Waits for the handler's message, then one turn of the event loop (server and client share it): the
 * server has then asked for the next message, and reads the client's end of its messages as a
 * half-close before the reset that follows it, as it does for a client in another process.
 */
async function settled(received: Promise<void>): Promise<void> {
  await received;
  await new Promise((resolve) => setImmediate(resolve));
}

/** The result of the call's one event, once it is recorded; fails on a second one. */
async function recorded(run: Running, requestId: string) {
  const event = await run.memory.waitFor({ requestId });
  await run.recorder.flush();
  expect(run.memory.events.filter((e) => e.requestId === requestId)).toHaveLength(1);
  return { success: event.result?.success, code: event.result?.code, message: event.result?.message };
}

describe("a request-streaming call cancelled mid-stream", () => {
  for (const kind of ["asyncService", "plain"] as const) {
    for (const method of ["importMembers", "syncMembers"] as const) {
      it(`is recorded with the handler's OK and the cancel (${method}, ${kind} handler)`, async () => {
        const run = await start(kind);
        // First (it also warms the connection: a first call's reset can reach the server before the
        // end of its messages, and is then recorded as a cancel before any status, as documented).
        expect(await CALLS[method](run, "ended", "end")).toBe(status.OK);
        expect(await recorded(run, "ended")).toStrictEqual({ success: true, code: "OK", message: "" });
        for (let i = 0; i < 3; i++) {
          expect(await CALLS[method](run, `cancel-${i}`, "cancel")).toBe(status.CANCELLED);
          expect(await recorded(run, `cancel-${i}`)).toStrictEqual({
            success: true,
            code: "OK",
            message: CANCELLED_OK,
          });
        }
      });
    }
  }

  for (const kind of ["asyncService", "plain"] as const) {
    // Retried: client and server share one process and clock, with no network between them. The
    // server's deadline is the client's when the headers arrive within the millisecond they were sent
    // (grpc-timeout carries whole milliseconds), and its timer then races the client's: when it fires
    // first, the server ends the call before the client's end of messages, as it would for a client
    // that sent none (recorded as cut off, the handler's outcome unknown), which is not this case.
    it(`is recorded with the deadline when it is the deadline that ended it (syncMembers, ${kind} handler)`, {
      retry: 2,
    }, async () => {
      const run = await start(kind);
      expect(await syncMembers(run, "ended", "end")).toBe(status.OK);
      await recorded(run, "ended");
      // The client's deadline timer ends its messages, then resets the stream: as a cancel does.
      const call = run.client.syncMembers(requestIdMetadata("late"), { deadline: Date.now() + 300 });
      const code = new Promise<number>((resolve) => {
        call.on("data", () => {});
        call.on("error", () => {});
        call.on("status", (end: { code: number }) => resolve(end.code));
      });
      call.write(CHANGE);
      expect(await code).toBe(status.DEADLINE_EXCEEDED);
      expect(await recorded(run, "late")).toStrictEqual({
        success: true,
        code: "OK",
        message: "the deadline had passed (DEADLINE_EXCEEDED); the handler finished OK",
      });
    });
  }

  it("is recorded as stopped part way when the deadline cut off the messages an asyncService handler was reading (importMembers)", async () => {
    const run = await start("asyncService");
    expect(await importMembers(run, "ended", "end")).toBe(status.OK);
    await recorded(run, "ended");
    // The client never ends its messages: at the deadline grpc-js destroys the call's stream, and the
    // handler's `for await` throws "Premature close". Not a failure of the handler's (no INTERNAL).
    const message = AddMemberRequest.encode(ADD).finish();
    const path = "/example.v1.ProjectService/ImportMembers";
    expect(await leftOpenCall(run.port, path, message, 300, "cut")).toBe(status.DEADLINE_EXCEEDED);
    expect(await recorded(run, "cut")).toStrictEqual({
      success: false,
      code: "DEADLINE_EXCEEDED",
      message:
        "the deadline had passed (DEADLINE_EXCEEDED); the handler stopped when the call's stream was cut " +
        "off under it: it may have completed the change",
    });
  });

  it("is recorded as stopped part way when a cancel cut off the stream an asyncService handler was writing to (archiveProject)", async () => {
    const run = await start("asyncService");
    const call = run.client.archiveProject(
      { projectId: "p-7" } as ArchiveProjectRequest,
      requestIdMetadata("cut-write"),
    );
    const code = new Promise<number>((resolve) => {
      call.on("data", () => {});
      call.on("error", () => {});
      call.on("status", (end: { code: number }) => resolve(end.code));
    });
    await settled(run.received());
    call.cancel();
    expect(await code).toBe(status.CANCELLED);
    expect(await recorded(run, "cut-write")).toStrictEqual({
      success: false,
      code: "CANCELLED",
      message:
        "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler stopped when " +
        "the call's stream was cut off under it: it may have completed the change",
    });
  });

  it("is recorded with the cancel below an interceptor of one's own too", async () => {
    // The scope interceptor finds grpc-js's call, and its stream, below the one before the chain.
    const outer: ServerInterceptor = (_method, call) => new ServerInterceptingCall(call);
    const run = await start("plain", [outer]);
    expect(await importMembers(run, "ended", "end")).toBe(status.OK);
    expect(await recorded(run, "ended")).toStrictEqual({ success: true, code: "OK", message: "" });
    expect(await importMembers(run, "below", "cancel")).toBe(status.CANCELLED);
    expect(await recorded(run, "below")).toStrictEqual({ success: true, code: "OK", message: CANCELLED_OK });
  });

  it("notes no stream when grpc-js's call field is missing or is not an HTTP/2 stream", () => {
    const scope = createAuditScope({
      operation: "/x/Y",
      metadata: new Metadata(),
      peer: "p",
      startedAtMs: 0,
    });
    for (const call of [{}, { stream: null }, { stream: {} }, { stream: { closed: false, once() {} } }]) {
      noteCallStream(scope, call);
      expect(callStreamOf(scope)).toBeUndefined();
    }
    const stream = { closed: false, rstCode: 0, once() {} };
    noteCallStream(scope, { stream });
    expect(callStreamOf(scope)).toBe(stream);
  });
});
