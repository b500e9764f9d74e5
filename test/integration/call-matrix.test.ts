// Every call kind × every way a call can end, over real loopback gRPC: exactly one mutation event with
// the right status name, target id and a non-negative duration, and the handler saw the audit scope.
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientWritableStream,
  credentials,
  Metadata,
  Server,
  type ServiceError,
  status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AddMemberRequest,
  type MemberChange,
  type MemberChangeResult,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { type AuditScope, currentAuditScope } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { durationToMs } from "../../src/event/builders.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { asyncService } from "../../src/server/async-service.js";
import { holdDeadline } from "../helpers/held-deadline.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";

type Behaviour = "ok" | "error" | "throw" | "reject" | "cancel" | "deadline";
type Kind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";

const EXPECTED_CODE: Record<Behaviour, string> = {
  ok: "OK",
  error: "NOT_FOUND",
  throw: "UNKNOWN",
  reject: "INTERNAL",
  cancel: "CANCELLED",
  deadline: "DEADLINE_EXCEEDED",
};

const METHOD: Record<Kind, string> = {
  unary: "CreateProject",
  server_streaming: "ArchiveProject",
  client_streaming: "ImportMembers",
  bidi_streaming: "SyncMembers",
};

/**
 * The target id each call should record; undefined where the race between the handler's start and the
 * first request message decides it (a handler of a client-streaming or bidi call that throws at once
 * may end the call before the first message is read).
 */
function expectedTargetId(kind: Kind, behaviour: Behaviour): string | undefined {
  switch (kind) {
    case "unary": // resp.id: only an answered call has a response
      return behaviour === "ok" ? "p-1" : "";
    case "server_streaming": // req.project_id: the request arrives before the handler starts
      return "p-7";
    case "client_streaming": // resp.project_id
      return behaviour === "ok" ? "p-7" : behaviour === "throw" ? undefined : "";
    case "bidi_streaming": // req.member.member_id
      return behaviour === "throw" ? undefined : "7";
  }
}

const NOT_FOUND = { code: status.NOT_FOUND, details: "no such thing" };

/** Handlers that end each call as its `x-behaviour` metadata says; "reject" goes through asyncService. */
function behaviourService(started: (AuditScope | undefined)[]): UntypedServiceImplementation {
  const behaviour = (call: { metadata: Metadata }) =>
    String(call.metadata.get("x-behaviour")[0] ?? "ok") as Behaviour;
  const waitForCancel = (call: NodeJS.EventEmitter) => call.once("cancelled", () => {});
  const rejecting = asyncService(ProjectServiceService, {
    createProject: async () => {
      started.push(currentAuditScope());
      throw new Error("db down");
    },
    archiveProject: async () => {
      started.push(currentAuditScope());
      throw new Error("db down");
    },
    importMembers: async (call) => {
      for await (const _ of call) started.push(currentAuditScope());
      throw new Error("db down");
    },
    syncMembers: async (call) => {
      for await (const _ of call.iterator({ destroyOnReturn: false })) started.push(currentAuditScope());
      throw new Error("db down");
    },
    getProject: async () => ({ id: "", name: "", ownerId: "" }),
    updateProject: async () => ({ id: "", name: "", ownerId: "" }),
    deleteProject: async () => ({}),
    addMember: async () => ({ memberId: 0, projectId: "", userId: "", role: "" }),
    removeMember: async () => ({}),
    listMembers: async () => {},
  });
  // Raw grpc-js handlers: typed loosely, as the behaviour switch serves four call shapes.
  const raw: Record<string, (call: never, callback: never) => void> = {
    createProject(
      call: { metadata: Metadata } & NodeJS.EventEmitter,
      callback: (e: unknown, r?: unknown) => void,
    ) {
      started.push(currentAuditScope());
      const b = behaviour(call);
      if (b === "throw") throw new Error("handler bug");
      if (b === "error") callback(NOT_FOUND);
      else if (b === "ok") callback(null, { id: "p-1", name: "n", ownerId: "" });
      else waitForCancel(call);
    },
    archiveProject(call: { metadata: Metadata; write(m: unknown): void; end(): void } & NodeJS.EventEmitter) {
      started.push(currentAuditScope());
      const b = behaviour(call);
      if (b === "throw") throw new Error("handler bug");
      if (b === "error") call.emit("error", NOT_FOUND);
      else if (b === "ok") {
        call.write({ projectId: "p-7", percent: 100 });
        call.end();
      } else waitForCancel(call);
    },
    importMembers(
      call: { metadata: Metadata } & NodeJS.EventEmitter,
      callback: (e: unknown, r?: unknown) => void,
    ) {
      const b = behaviour(call);
      if (b === "throw") throw new Error("handler bug");
      let count = 0;
      call.on("data", () => {
        started.push(currentAuditScope());
        count++;
      });
      call.on("end", () => {
        if (b === "error") callback(NOT_FOUND);
        else if (b === "ok") callback(null, { projectId: "p-7", imported: count });
      });
      waitForCancel(call);
    },
    syncMembers(call: { metadata: Metadata; write(m: unknown): void; end(): void } & NodeJS.EventEmitter) {
      const b = behaviour(call);
      if (b === "throw") throw new Error("handler bug");
      call.on("data", () => {
        started.push(currentAuditScope());
        call.write({ memberId: 7, applied: true });
      });
      call.on("end", () => {
        if (b === "error") call.emit("error", NOT_FOUND);
        else if (b === "ok") call.end();
      });
      waitForCancel(call);
    },
  };
  const implementation: UntypedServiceImplementation = {};
  for (const name of Object.keys(raw)) {
    implementation[name] = ((call: { metadata: Metadata }, callback: unknown) => {
      const handler = behaviour(call) === "reject" ? rejecting[name] : raw[name];
      return (handler as (c: unknown, cb: unknown) => void)(call, callback);
    }) as UntypedServiceImplementation[string];
  }
  return implementation;
}

describe("every call kind × every ending", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const started: (AuditScope | undefined)[] = [];
  let server: Server;
  let client: ProjectServiceClient;

  beforeAll(async () => {
    server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: auditRules }) });
    server.addService(ProjectServiceService, behaviourService(started));
    const port = await listenOnLoopback(server);
    client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await stopServer(server);
    // Every call's event was recorded (each test waited for it): none is still owed to the Recorder.
    expect(recorder.stats().pendingRecords).toBe(0);
  });
  afterEach(() => {
    memory.clear();
    started.length = 0;
  });

  /** Runs one call and resolves to the status code name the client saw. */
  async function run(kind: Kind, behaviour: Behaviour, requestId: string): Promise<string> {
    const metadata = new Metadata();
    metadata.set("x-behaviour", behaviour);
    metadata.set("x-request-id", requestId);
    // A deadline the server reads as the client's: a server that read the call more than
    // DEADLINE_TOLERANCE_MS after the client wrote it (a loaded machine) recorded the client's reset
    // at its deadline as a cancel (CANCELLED).
    const clock = behaviour === "deadline" ? holdDeadline() : undefined;
    try {
      return await runCall(
        kind,
        behaviour,
        metadata,
        clock === undefined ? {} : { deadline: clock.deadline },
        () => clock?.passed(),
      );
    } finally {
      clock?.release();
    }
  }

  /** Runs one call with `options`; `ended` is called in the turn the client saw its status. */
  async function runCall(
    kind: Kind,
    behaviour: Behaviour,
    metadata: Metadata,
    options: { deadline?: number },
    ended: () => void,
  ): Promise<string> {
    const cancelWhenStarted = async (call: { cancel(): void }) => {
      await expect.poll(() => started.length, { timeout: 2000 }).toBeGreaterThan(0);
      call.cancel();
    };
    const statusOf = (stream: NodeJS.EventEmitter) =>
      new Promise<number>((resolve) => {
        stream.on("data", () => {});
        stream.on("error", () => {}); // the status event carries the outcome
        stream.on("status", (s: { code: number }) => resolve(s.code));
      });
    let code: number;
    switch (kind) {
      case "unary": {
        const done = new Promise<number>((resolve) => {
          const call = client.createProject({ name: "n" }, metadata, options, (e: ServiceError | null) =>
            resolve(e?.code ?? status.OK),
          );
          if (behaviour === "cancel") void cancelWhenStarted(call);
        });
        code = await done;
        break;
      }
      case "server_streaming": {
        const stream: ClientReadableStream<unknown> = client.archiveProject(
          { projectId: "p-7" },
          metadata,
          options,
        );
        const done = statusOf(stream);
        if (behaviour === "cancel") await cancelWhenStarted(stream);
        code = await done;
        break;
      }
      case "client_streaming": {
        let call: ClientWritableStream<AddMemberRequest> | undefined;
        const done = new Promise<number>((resolve) => {
          call = client.importMembers(metadata, options, (e: ServiceError | null) =>
            resolve(e?.code ?? status.OK),
          );
        });
        call?.write({ projectId: "p-7", userId: "u", role: "viewer" });
        if (behaviour === "cancel" && call !== undefined) await cancelWhenStarted(call);
        else if (behaviour !== "deadline") call?.end();
        code = await done;
        break;
      }
      case "bidi_streaming": {
        const call: ClientDuplexStream<MemberChange, MemberChangeResult> = client.syncMembers(
          metadata,
          options,
        );
        const done = statusOf(call);
        call.write({ member: { memberId: 7, projectId: "p-7", userId: "u", role: "editor" } });
        if (behaviour === "cancel") await cancelWhenStarted(call);
        else if (behaviour !== "deadline") call.end();
        code = await done;
        break;
      }
    }
    ended();
    return Object.entries(status).find(([, value]) => value === code)?.[0] ?? String(code);
  }

  const kinds: Kind[] = ["unary", "server_streaming", "client_streaming", "bidi_streaming"];
  const behaviours: Behaviour[] = ["ok", "error", "throw", "reject", "cancel", "deadline"];
  const cases = kinds.flatMap((kind) => behaviours.map((behaviour) => [kind, behaviour] as const));

  it.each(cases)("%s call ending with %s records exactly one event", async (kind, behaviour) => {
    const requestId = `req-${kind}-${behaviour}`;
    const seen = await run(kind, behaviour, requestId);
    expect(seen).toBe(EXPECTED_CODE[behaviour]);

    const [event] = await memory.waitForCount(1);
    await sleep(50); // grpc-js reports onCancel after every call: it must not add a second event
    expect(memory.events).toHaveLength(1);
    expect(event?.operation).toBe(`/example.v1.ProjectService/${METHOD[kind]}`);
    expect(event?.requestId).toBe(requestId);
    expect(event?.result?.code).toBe(EXPECTED_CODE[behaviour]);
    expect(event?.result?.success).toBe(behaviour === "ok");
    const targetId = expectedTargetId(kind, behaviour);
    if (targetId !== undefined) expect(event?.target?.id).toBe(targetId);
    expect(durationToMs(event?.duration ?? { seconds: -1, nanos: 0 })).toBeGreaterThanOrEqual(0);
    if (behaviour !== "throw" || kind === "unary" || kind === "server_streaming") {
      expect(started.length).toBeGreaterThan(0);
      expect(started.every((scope) => scope?.requestId === requestId)).toBe(true);
    }
  });
});
