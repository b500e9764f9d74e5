// Interceptors of the application's placed before the audit chain, over real loopback gRPC (review R136):
// a status one of them sends itself is named as that interceptor's, however far out it sits, and one
// sent on grpc-js's own call below them (grpc-js's, or the outermost one's on the `call` it was given)
// as either's; a status the chain itself sends, held back by one of them on its way out, is the
// chain's, not one of theirs.
import {
  type ChannelOptions,
  credentials,
  Metadata,
  ResponderBuilder,
  Server,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  status,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Project,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { currentAuditScope } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { type OwnStatus, ownStatusOf } from "../../src/interceptors/own-status.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type AsyncServiceImplementation, asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { unary } from "../helpers/project-server.js";
import { requestIdMetadata } from "../helpers/request-id-metadata.js";

type Handlers = AsyncServiceImplementation<typeof ProjectServiceService>;

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
const chain = createAuditInterceptors({ recorder, rules: auditRules });

let server: Server | undefined;
let client: ProjectServiceClient | undefined;

afterEach(() => {
  memory.clear();
  client?.close();
  server?.forceShutdown();
  server = undefined;
  client = undefined;
});

/** Any interceptor of the application's that passes every event on: grpc-js's builder form, no responder. */
const passthrough: ServerInterceptor = (_method, call) => new ServerInterceptingCall(call);

/** Ends the call the handler runs in with UNAVAILABLE, as the draining interceptor below does, when called. */
let drain: () => void = () => {};

/** Sends UNAVAILABLE itself, on its own call, once `drain` is called (a server draining its calls). */
const draining: ServerInterceptor = (_method, call) => {
  const own = new ServerInterceptingCall(call, new ResponderBuilder().build());
  drain = () =>
    own.sendStatus({ code: status.UNAVAILABLE, details: "server draining", metadata: new Metadata() });
  return own;
};

/** Sends UNAVAILABLE on the `call` it was given once `drain` is called: the usual way to refuse a call. */
const drainingOnGiven: ServerInterceptor = (_method, call) => {
  drain = () =>
    call.sendStatus({ code: status.UNAVAILABLE, details: "server draining", metadata: new Metadata() });
  return new ServerInterceptingCall(call);
};

/** Passes every status on only once released: an async status hook, such as one that logs it first. */
function holdingStatuses(): { holding: ServerInterceptor; release: () => void } {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const holding: ServerInterceptor = (_method, call) =>
    new ServerInterceptingCall(call, {
      sendStatus: (outbound, next) => void released.then(() => next(outbound)),
    });
  return { holding, release };
}

/** Starts the example service behind `interceptors`, with `handlers` in asyncService form. */
async function start(
  interceptors: ServerInterceptor[],
  handlers: Partial<Handlers>,
  options: ChannelOptions = {},
): Promise<ProjectServiceClient> {
  server = new Server({ interceptors, ...options });
  server.addService(ProjectServiceService, asyncService(ProjectServiceService, handlers as Handlers));
  const port = await listenOnLoopback(server);
  client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return client;
}

/** UpdateProject drains its own call, then finishes its change once grpc-js reports the call cancelled. */
const drainedUpdate: Partial<Handlers> = {
  async updateProject(call) {
    const cancelled = new Promise((resolve) => call.once("cancelled", resolve));
    drain();
    await cancelled;
    return call.request.project as Project;
  },
};

/** The mutation events of the call with `requestId`, once there is one, as [operation, target id, result]. */
async function mutationsOf(requestId: string) {
  const of = () =>
    memory
      .filter({ eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION })
      .filter((e) => e.requestId === requestId);
  await expect.poll(() => of().length).toBeGreaterThan(0);
  return of().map((e) => [e.operation, e.target?.id, e.result]);
}

describe("a status an interceptor before the chain sends itself", () => {
  const ITS = "an interceptor before the audit chain ended the call (UNAVAILABLE)";
  const EITHER = "grpc-js or an interceptor before the audit chain ended the call (UNAVAILABLE)";

  it.each([
    [
      "that interceptor's when another interceptor sits between it and the chain",
      "far",
      [draining, passthrough],
      ITS,
    ],
    ["that interceptor's when it sits directly before the chain", "near", [draining], ITS],
    [
      "that interceptor's when sent on the `call` it was given, an interceptor's",
      "given",
      [passthrough, drainingOnGiven],
      ITS,
    ],
    [
      "grpc-js's or an interceptor's when the outermost one sends it on grpc-js's own call",
      "base",
      [drainingOnGiven],
      EITHER,
    ],
  ])("is named as %s", async (_title, requestId, before, endedBy) => {
    const c = await start([...before, ...chain], drainedUpdate);
    const [error] = await unary(
      c.updateProject.bind(c),
      { project: { id: "p-1", name: "renamed", ownerId: "" } },
      requestIdMetadata(requestId),
    );
    expect([error?.code, error?.details]).toStrictEqual([status.UNAVAILABLE, "server draining"]);
    expect(await mutationsOf(requestId)).toStrictEqual([
      [
        "/example.v1.ProjectService/UpdateProject",
        "p-1",
        { success: true, code: "OK", message: `${endedBy}; the handler finished OK` },
      ],
    ]);
  });
});

describe("a status an interceptor before the chain sends, held back by one further out", () => {
  it("is not taken for the client's when a cancel ends the call first", async () => {
    const { holding, release } = holdingStatuses();
    let drained: () => void = () => {};
    const wasDrained = new Promise<void>((resolve) => {
      drained = resolve;
    });
    const c = await start([holding, draining, ...chain], {
      async updateProject(call) {
        const cancelled = new Promise((resolve) => call.once("cancelled", resolve));
        drain();
        drained();
        await cancelled;
        return call.request.project as Project;
      },
    });
    const ended = new Promise<number | undefined>((resolve) => {
      const call = c.updateProject(
        { project: { id: "p-1", name: "renamed", ownerId: "" } },
        requestIdMetadata("held-drain"),
        (error) => resolve(error?.code),
      );
      void wasDrained.then(() => call.cancel());
    });
    expect(await ended).toBe(status.CANCELLED);
    expect(await mutationsOf("held-drain")).toStrictEqual([
      [
        "/example.v1.ProjectService/UpdateProject",
        "p-1",
        {
          success: true,
          code: "OK",
          message:
            "the call was cancelled (CANCELLED): by the client or a server shutdown; the handler finished OK",
        },
      ],
    ]);
    release();
  });
});

describe("a status grpc-js sends itself while an interceptor's status is held back further out", () => {
  it("is named as grpc-js's or an interceptor's, not as the held one's sender", async () => {
    const { holding, release } = holdingStatuses();
    const c = await start(
      [holding, draining, ...chain],
      {
        // Drained first (held back further out), then an answer over the send limit: grpc-js ends the call.
        async updateProject(call) {
          drain();
          return { ...(call.request.project as Project), name: "n".repeat(1000) };
        },
      },
      { "grpc.max_send_message_length": 300 },
    );
    const [error] = await unary(
      c.updateProject.bind(c),
      { project: { id: "p-1", name: "renamed", ownerId: "" } },
      requestIdMetadata("too-large"),
    );
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(await mutationsOf("too-large")).toStrictEqual([
      [
        "/example.v1.ProjectService/UpdateProject",
        "p-1",
        {
          success: true,
          code: "OK",
          message:
            "grpc-js or an interceptor before the audit chain ended the call (RESOURCE_EXHAUSTED); the handler finished OK",
        },
      ],
    ]);
    release();
  });
});

describe("a status a call object of the application's (no ServerInterceptingCall) sends itself", () => {
  /** Passes everything to grpc-js's call, as a hand-written call object of an interceptor may. */
  class Delegating implements ServerInterceptingCallInterface {
    constructor(private readonly next: ServerInterceptingCallInterface) {}
    start(listener: Parameters<ServerInterceptingCallInterface["start"]>[0]) {
      this.next.start(listener);
    }
    sendMetadata(metadata: Metadata) {
      this.next.sendMetadata(metadata);
    }
    sendMessage(message: unknown, callback: () => void) {
      this.next.sendMessage(message, callback);
    }
    sendStatus(outbound: Parameters<ServerInterceptingCallInterface["sendStatus"]>[0]) {
      this.next.sendStatus(outbound);
    }
    startRead() {
      this.next.startRead();
    }
    getPeer() {
      return this.next.getPeer();
    }
    getDeadline() {
      return this.next.getDeadline();
    }
    getHost() {
      return this.next.getHost();
    }
    getAuthContext() {
      return this.next.getAuthContext();
    }
    getConnectionInfo() {
      return this.next.getConnectionInfo();
    }
    getMetricsRecorder() {
      return this.next.getMetricsRecorder();
    }
  }

  it("is named as grpc-js's or an interceptor's, not as grpc-js's", async () => {
    // Outside grpc-js's types, which want a ServerInterceptingCall back, as a JavaScript interceptor may be.
    const delegating = ((_method, call) => {
      const own = new Delegating(call);
      drain = () =>
        own.sendStatus({ code: status.UNAVAILABLE, details: "server draining", metadata: new Metadata() });
      return own;
    }) as (...args: Parameters<ServerInterceptor>) => unknown as ServerInterceptor;
    const c = await start([delegating, ...chain], drainedUpdate);
    const [error] = await unary(
      c.updateProject.bind(c),
      { project: { id: "p-1", name: "renamed", ownerId: "" } },
      requestIdMetadata("delegating"),
    );
    expect(error?.code).toBe(status.UNAVAILABLE);
    expect(await mutationsOf("delegating")).toStrictEqual([
      [
        "/example.v1.ProjectService/UpdateProject",
        "p-1",
        {
          success: true,
          code: "OK",
          message:
            "grpc-js or an interceptor before the audit chain ended the call (UNAVAILABLE); the handler finished OK",
        },
      ],
    ]);
  });
});

describe("a status grpc-js sends itself below interceptors of the application's", () => {
  // Sent on grpc-js's own call, where the outermost interceptor may send one too: named as either's.
  // A plain handler that never answers: grpc-js ends the call for its request over the receive limit.
  async function overTheLimit(interceptors: ServerInterceptor[], requestId: string) {
    server = new Server({ interceptors, "grpc.max_receive_message_length": 64 });
    let started = 0;
    server.addService(ProjectServiceService, {
      importMembers: (call: NodeJS.EventEmitter) => {
        started++;
        call.on("data", () => {});
      },
    } as never);
    const port = await listenOnLoopback(server);
    client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const call = client.importMembers(requestIdMetadata(requestId), () => {});
    const ended = new Promise<{ code: status; details: string }>((resolve) => call.on("status", resolve));
    await expect.poll(() => started).toBe(1);
    call.write({ projectId: "p-1", userId: "u".repeat(200), role: "viewer" });
    return ended;
  }

  const EXHAUSTED = [
    [
      "/example.v1.ProjectService/ImportMembers",
      "", // its target id is the response's, and there is none
      {
        success: false,
        code: "RESOURCE_EXHAUSTED",
        message:
          "grpc-js or an interceptor before the audit chain ended the call (RESOURCE_EXHAUSTED); the handler's outcome is unknown: it may have completed the change",
      },
    ],
  ];

  it("is named as grpc-js's or an interceptor's with two interceptors before the chain", async () => {
    const ended = await overTheLimit([passthrough, passthrough, ...chain], "exhausted-two");
    expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(await mutationsOf("exhausted-two")).toStrictEqual(EXHAUSTED);
  });

  it("is named as grpc-js's or an interceptor's with one interceptor before the chain", async () => {
    const ended = await overTheLimit([passthrough, ...chain], "exhausted-one");
    expect(ended.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(await mutationsOf("exhausted-one")).toStrictEqual(EXHAUSTED);
  });
});

describe("a status the chain sends, held back by an interceptor before it", () => {
  it("is not noted as an interceptor's own status", async () => {
    // Passes the chain's status on a turn later, past the time the chain sends it.
    const deferring: ServerInterceptor = (_method, call) =>
      new ServerInterceptingCall(call, {
        sendStatus: (outbound, next) => setImmediate(() => next(outbound)),
      });
    // After the chain: reads, in the call's scope, what was noted once grpc-js reports the call over.
    const noted: (OwnStatus | undefined)[] = [];
    const probe: ServerInterceptor = (_method, call) =>
      new ServerInterceptingCall(call, {
        start: (next) => next({ onCancel: () => noted.push(ownStatusOf(currentAuditScope())) }),
      });
    const c = await start([passthrough, deferring, ...chain, probe], {
      async getProject() {
        throw Object.assign(new Error("no such project"), { code: status.NOT_FOUND });
      },
    });
    const [error] = await unary(c.getProject.bind(c), { id: "p-404" }, requestIdMetadata("held"));
    expect(error?.code).toBe(status.NOT_FOUND);
    await expect.poll(() => noted.length).toBe(1);
    expect(noted).toStrictEqual([undefined]);
  });
});
