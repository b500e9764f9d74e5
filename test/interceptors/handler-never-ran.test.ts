// A call that ends (the client cancels, its deadline passes) while an interceptor of the application's
// placed after the audit chain still holds it, over real loopback gRPC: the rules interceptor has passed
// the call on, but grpc-js never started the handler. An asyncService handler reports its start as
// grpc-js calls it, so the event must say that it never ran; it used to say that it "may have completed
// the change". A plain grpc-js handler reports nothing: its outcome stays unknown.
import {
  type CallOptions,
  credentials,
  Metadata,
  ResponderBuilder,
  Server,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { ProjectServiceClient, ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { asyncService } from "../../src/server/async-service.js";
import { type HeldDeadline, holdDeadline } from "../helpers/held-deadline.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { CALL_KINDS, type CallKind, METHOD_OF_KIND } from "../helpers/project-server.js";

const TIME = "2026-01-02T03:04:05.678Z";
const EVENT_ID = "019b7ca9-8f2e-7000-8000-000000000004";
const UPDATE = "/example.v1.ProjectService/UpdateProject";
const CANCELLED = "the call was cancelled (CANCELLED): by the client or a server shutdown";
const DEADLINE = "the deadline had passed (DEADLINE_EXCEEDED)";
const UNKNOWN = "the handler's outcome is unknown: it may have completed the change";

type HandlerKind = "asyncService" | "plain";

let cleanup: (() => Promise<void>) | undefined;
/** The held clock of a deadline call (see optionsFor), given back after the test. */
let held: HeldDeadline | undefined;
afterEach(async () => {
  held?.release();
  held = undefined;
  await cleanup?.();
  cleanup = undefined;
});

/**
 * A server with the audit chain and, after it, an interceptor that holds every call where grpc-js
 * would start its handler: a request-streaming call at its metadata, a unary or server-streaming one
 * at its half-close; with `gate`, it passes a request-streaming call's metadata on once that resolves.
 * Its handlers, of `handlers` kind, count their runs; ImportMembers answers once its call is cancelled.
 */
async function start(handlers: HandlerKind, gate?: Promise<void>) {
  const memory = createMemoryEmitter();
  const recorder: Recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(TIME),
    newEventId: () => EVENT_ID,
  });
  const seen = { held: 0, ended: 0, ran: 0 };
  const holder: ServerInterceptor = (method, call) =>
    new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) =>
          next(
            new ServerListenerBuilder()
              .withOnReceiveMetadata((metadata, pass) => {
                if (!method.requestStream) pass(metadata);
                else {
                  seen.held++;
                  void gate?.then(() => pass(metadata));
                }
              })
              .withOnReceiveHalfClose(() => {
                seen.held++;
              })
              .withOnCancel(() => {
                seen.ended++;
              })
              .build(),
          ),
        )
        .build(),
    );
  const server = new Server({
    interceptors: [...createAuditInterceptors({ recorder, rules: auditRules }), holder],
  });
  const ran = () => {
    seen.ran++;
  };
  const counted = (answer: unknown) => async () => {
    ran();
    return answer;
  };
  const plain = {
    deleteProject: ran,
    updateProject: ran,
    archiveProject: ran,
    importMembers: ran,
    syncMembers: ran,
  };
  const implementation =
    handlers === "plain"
      ? plain
      : asyncService(ProjectServiceService, {
          deleteProject: counted({}),
          updateProject: counted({ id: "p-1", name: "", ownerId: "" }),
          archiveProject: counted(undefined),
          importMembers: async (call: NodeJS.EventEmitter) => {
            ran();
            await new Promise((resolve) => call.once("cancelled", resolve));
            return { projectId: "p-1", imported: 0 };
          },
          syncMembers: counted(undefined),
        } as never);
  server.addService(ProjectServiceService, implementation as never);
  const port = await listenOnLoopback(server);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  cleanup = async () => {
    client.close();
    server.forceShutdown();
    await recorder.close();
  };
  return { memory, client, seen };
}

/**
 * The call options of an ending: none for a cancel; for a deadline, one the server reads as the
 * client's (see holdDeadline), its clock moved to it as the client sees DEADLINE_EXCEEDED.
 */
function optionsFor(how: "cancel" | "deadline"): Partial<CallOptions> {
  if (how === "cancel") return {};
  held = holdDeadline();
  return { deadline: held.deadline };
}

/** Starts a call of `kind` on project p-1 with request id `requestId`; resolves to the client's status. */
function startCall(
  client: ProjectServiceClient,
  kind: CallKind | "unary_update",
  requestId: string,
  options: Partial<CallOptions>,
) {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  const call =
    kind === "unary"
      ? client.deleteProject({ id: "p-1" }, metadata, options, () => {})
      : kind === "unary_update"
        ? client.updateProject({ project: { id: "p-1", name: "", ownerId: "" } }, metadata, options, () => {})
        : kind === "server_streaming"
          ? client.archiveProject({ projectId: "p-1" }, metadata, options)
          : kind === "client_streaming"
            ? client.importMembers(metadata, options, () => {})
            : client.syncMembers(metadata, options);
  const ended = new Promise<StatusObject>((resolve) => {
    call.on("data", () => {});
    call.on("error", () => {}); // the status says how it ended
    call.on("status", (end: StatusObject) => {
      if (options.deadline !== undefined) held?.passed();
      resolve(end);
    });
  });
  return { call, ended };
}

/** `event` without what differs from run to run (the client's port, the call's duration, the hash chain). */
function stable(event: AuditEvent) {
  const { peer, duration, chain, ...rest } = event;
  expect(peer).toMatch(/^127\.0\.0\.1:\d+$/);
  expect([duration === undefined, chain?.seq]).toStrictEqual([false, 1]);
  return rest;
}

/** What the event of a held call of `kind` names: request-streaming calls passed no message. */
const TARGET: Readonly<Record<CallKind, { type: string; id: string; mutation: string }>> = {
  unary: { type: "project", id: "p-1", mutation: "MUTATION_TYPE_DELETE" },
  server_streaming: { type: "project", id: "p-1", mutation: "MUTATION_TYPE_UPDATE" },
  client_streaming: { type: "project", id: "", mutation: "MUTATION_TYPE_UPDATE" },
  bidi_streaming: { type: "member", id: "", mutation: "MUTATION_TYPE_UPDATE" },
};

/** The whole event of a call of `kind` that ended with `result`; its target `id` as held. */
function expectedEvent(
  kind: CallKind,
  requestId: string,
  result: { success: boolean; code: string; message: string },
  id = TARGET[kind].id,
) {
  const { type, mutation } = TARGET[kind];
  return {
    eventId: EVENT_ID,
    schemaVersion: 2,
    occurredAt: new Date(TIME),
    service: "projects",
    actor: {
      id: "anonymous",
      type: "ACTOR_TYPE_ANONYMOUS",
      displayName: "",
      email: "",
      subject: "",
      clientId: "",
      realm: "",
    },
    traceId: "",
    spanId: "",
    userAgent: expect.stringMatching(/^grpc-node-js\//),
    attributes: {},
    instance: "",
    payload: undefined,
    eventType: "EVENT_TYPE_RESOURCE_MUTATION",
    operation: METHOD_OF_KIND[kind],
    target: { type, id, name: "" },
    result,
    requestId,
    detail: {
      $case: "resourceMutation",
      value: { mutation, resourceType: type, resourceId: id },
    },
  };
}

const ENDINGS = [
  ["the client cancels", "cancel", status.CANCELLED, "CANCELLED", CANCELLED],
  ["its deadline passes", "deadline", status.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", DEADLINE],
] as const;
const CASES = CALL_KINDS.flatMap((kind) => ENDINGS.map((ending) => [kind, ...ending] as const));

describe("a call that ends while an interceptor after the audit chain holds it", () => {
  /** What the event says of each kind of handler: an asyncService one reports its start, a plain one nothing. */
  const HANDLERS = [
    ["asyncService", "is recorded as never run", "the handler never ran"],
    ["plain", "stays of unknown outcome", UNKNOWN],
  ] as const;

  it.each(
    HANDLERS.flatMap(([handlers, says, outcome]) =>
      CASES.map(
        ([kind, name, how, expected, code, why]) =>
          [kind, name, handlers, says, how, expected, code, why, outcome] as const,
      ),
    ),
  )(
    "%s call, %s: a handler of %s kind %s",
    async (kind, _name, handlers, _says, how, expected, code, why, outcome) => {
      const s = await start(handlers);
      const requestId = `${handlers}-${kind}-${how}`;
      const { call, ended } = startCall(s.client, kind, requestId, optionsFor(how));
      await expect.poll(() => s.seen.held).toBe(1);
      if (how === "cancel") call.cancel();
      expect((await ended).code).toBe(expected);
      const event = await s.memory.waitFor({ eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION });
      expect(stable(event)).toStrictEqual(
        expectedEvent(kind, requestId, { success: false, code, message: `${why}; ${outcome}` }),
      );
      expect(s.seen.ran).toBe(0);
    },
  );

  it("records nothing for a rule without record_on_error: an asyncService handler that never ran changed nothing", async () => {
    const s = await start("asyncService");
    const { call, ended } = startCall(s.client, "unary_update", "never-update", {});
    await expect.poll(() => s.seen.held).toBe(1);
    call.cancel();
    expect((await ended).code).toBe(status.CANCELLED);
    // The holder hears of the cancel after the rules interceptor, which records (or not) at once.
    await expect.poll(() => s.seen.ended).toBe(1);
    expect(s.memory.events).toStrictEqual([]);
    expect(s.seen.ran).toBe(0);
  });

  it("still records a plain handler's unknown outcome for a rule without record_on_error", async () => {
    const s = await start("plain");
    const { call, ended } = startCall(s.client, "unary_update", "unknown-update", {});
    await expect.poll(() => s.seen.held).toBe(1);
    call.cancel();
    expect((await ended).code).toBe(status.CANCELLED);
    const event = await s.memory.waitFor({ eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION });
    expect([event.operation, event.result]).toStrictEqual([
      UPDATE,
      { success: false, code: "CANCELLED", message: `${CANCELLED}; ${UNKNOWN}` },
    ]);
  });

  it("records what an asyncService handler did once that interceptor passed the call on", async () => {
    let open = () => {};
    const s = await start("asyncService", new Promise<void>((resolve) => (open = resolve)));
    const { call, ended } = startCall(s.client, "client_streaming", "ran-import", {});
    await expect.poll(() => s.seen.held).toBe(1);
    open();
    await expect.poll(() => s.seen.ran).toBe(1);
    call.cancel();
    expect((await ended).code).toBe(status.CANCELLED);
    const event = await s.memory.waitFor({ eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION });
    const message = `${CANCELLED}; the handler finished OK`;
    expect(stable(event)).toStrictEqual(
      expectedEvent("client_streaming", "ran-import", { success: true, code: "OK", message }, "p-1"),
    );
  });
});
