// Calls grpc-js itself refuses or ends around the interceptors, over real loopback gRPC: what each one
// leaves in the trail. A unary or server-streaming handler runs only with exactly one request message;
// without it no mutation ran, so none is recorded, and an authz rule that reads its object id from that
// message records the call as unchecked (object_id_unresolved) with the status the client got.
import http2 from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, credentials, Metadata, Server, type ServerInterceptor, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  AddMemberRequest,
  ArchiveProjectRequest,
  DeleteProjectRequest,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { ActorType, type AuditEvent, AuthzDecision, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { holdDeadline } from "../helpers/held-deadline.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { FIXED_TIME, fixedRecorder } from "../helpers/recorder.js";

const DELETE = "/example.v1.ProjectService/DeleteProject"; // mutation rule, record_on_error; authz req.id
const ADD = "/example.v1.ProjectService/AddMember"; // no audit rule here; authz req.project_id
const ARCHIVE = "/example.v1.ProjectService/ArchiveProject"; // server streaming; rule, record_on_error
const MAX_RECEIVE = 1024;

// AddMember's audit rule left out: a method without one.
const { [ADD]: _withoutRule, ...rules } = auditRules as RuleTable;

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
const raw = (bytes: Buffer) => bytes;
let server: Server;
let client: Client;
let port = 0;
let token = "";
let key: Awaited<ReturnType<typeof newSigningKey>>;
let handled = 0;

beforeAll(async () => {
  key = await newSigningKey("k1", "ES256");
  token = await signToken(key, { sub: "alice" });
  const { authorizer } = createFakeAuthorizer([
    "user:alice|owner|project:p-1",
    "user:alice|editor|project:p-1",
  ]);
  ({ server, port } = await start(
    createAuditInterceptors({
      recorder,
      rules,
      authn: { authenticators: [jwtAuthenticatorFor(key)] },
      authz: { authorizer, rules: authzRules },
    }),
  ));
  client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
});
afterAll(async () => {
  client.close();
  await stopServer(server);
});
beforeEach(() => {
  memory.clear();
  handled = 0;
});

async function start(interceptors: ServerInterceptor[]): Promise<{ server: Server; port: number }> {
  const s = new Server({ interceptors, "grpc.max_receive_message_length": MAX_RECEIVE });
  const answer = (_call: unknown, callback: (error: null, response: object) => void) => {
    handled++;
    callback(null, {});
  };
  s.addService(ProjectServiceService, {
    deleteProject: answer,
    addMember: answer,
    archiveProject: (call: { end(): void }) => {
      handled++;
      call.end();
    },
  } as never);
  const bound = await listenOnLoopback(s);
  return { server: s, port: bound };
}

function metadataFor(requestId: string): Metadata {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  metadata.set("x-request-id", requestId);
  return metadata;
}

/** The status the client got, as "CODE details". */
function statusOf(call: NodeJS.EventEmitter): Promise<{ code: status; details: string }> {
  return new Promise((resolve) => {
    call.on("data", () => {});
    call.on("error", () => {});
    call.on("status", (end: { code: status; details: string }) => resolve(end));
  });
}

/** A client stream to `path` (a unary or server-streaming method) that sends `messages`, then half-closes. */
function streamTo(path: string, requestId: string, messages: Buffer[]) {
  const call = client.makeClientStreamRequest(path, raw, raw, metadataFor(requestId), () => {});
  const ended = statusOf(call);
  for (const message of messages) call.write(message);
  call.end();
  return ended;
}

/** One request over plain HTTP/2, its message marked compressed with `encoding`; resolves to the status. */
function compressed(path: string, requestId: string, body: Buffer, encoding: string) {
  return rawCall(path, requestId, body, { compressed: true, headers: { "grpc-encoding": encoding } });
}

/**
 * One request over plain HTTP/2: its one message and the half-close in a single write, with `token`
 * (default: the suite's, verified once and cached); resolves to the status.
 */
async function rawCall(
  path: string,
  requestId: string,
  body: Buffer,
  options: { compressed?: boolean; headers?: http2.OutgoingHttpHeaders; token?: string } = {},
) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const request = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...options.headers,
    authorization: `Bearer ${options.token ?? token}`,
    "x-request-id": requestId,
  });
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt8(options.compressed === true ? 1 : 0, 0);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  request.end(frame);
  const code = await new Promise<number>((resolve) => {
    let received = Number.NaN;
    const read = (headers: http2.IncomingHttpHeaders) => {
      if (headers["grpc-status"] !== undefined) received = Number(headers["grpc-status"]);
    };
    request.on("response", read);
    request.on("trailers", read);
    request.on("data", () => {});
    request.on("close", () => resolve(received));
  });
  session.close();
  return code;
}

/** What the trail holds for a request id, once `count` events arrived: kind, status, and for authz what. */
async function trailOf(requestId: string, count: number) {
  await expect
    .poll(() => memory.events.filter((event) => event.requestId === requestId).length)
    .toBeGreaterThanOrEqual(count);
  await sleep(50); // nothing more may come
  return memory.events.filter((event) => event.requestId === requestId).map(summary);
}

function summary(event: AuditEvent): string[] {
  const detail = event.detail;
  const base = [detail?.$case ?? "", event.result?.code ?? ""];
  if (detail?.$case === "authz") {
    return [...base, String(detail.value.decision), detail.value.errorReason, detail.value.objectId];
  }
  return detail?.$case === "resourceMutation" ? [...base, event.target?.id ?? ""] : base;
}

const deleteP1 = Buffer.from(DeleteProjectRequest.encode({ id: "p-1" }).finish());
const addToP1 = Buffer.from(
  AddMemberRequest.encode({ projectId: "p-1", userId: "u-1", role: "viewer" }).finish(),
);
const archiveP1 = Buffer.from(ArchiveProjectRequest.encode({ projectId: "p-1" }).finish());
const AUTHN_OK = ["authn", "OK"];
const unresolved = (code: string) => ["authz", code, "AUTHZ_DECISION_ERROR", "object_id_unresolved", ""];
const ALLOWED = ["authz", "OK", "AUTHZ_DECISION_ALLOWED", "", "p-1"];

describe.each([
  ["with a mutation rule (record_on_error)", DELETE, deleteP1],
  ["without an audit rule", ADD, addToP1],
])("a unary method %s", (_name, path, request) => {
  const id = (what: string) => `${path.slice(-6)}-${what}`;

  it("records a call with no request message as unchecked by authz, with grpc-js's UNIMPLEMENTED, not as a mutation", async () => {
    const seen = await streamTo(path, id("none"), []);
    expect(seen.code).toBe(status.UNIMPLEMENTED);
    expect(await trailOf(id("none"), 2)).toStrictEqual([AUTHN_OK, unresolved("UNIMPLEMENTED")]);
    expect(handled).toBe(0);
  });

  it("records no mutation for a call with two request messages: the handler never ran", async () => {
    const seen = await streamTo(path, id("two"), [request, request]);
    expect(seen.code).toBe(status.UNIMPLEMENTED);
    expect(await trailOf(id("two"), 2)).toStrictEqual([AUTHN_OK, ALLOWED]);
    expect(handled).toBe(0);
  });

  it("records an undecodable request as unchecked, with INTERNAL", async () => {
    const call = client.makeUnaryRequest(
      path,
      raw,
      raw,
      Buffer.from([0x0f, 0xff]),
      metadataFor(id("bad")),
      () => {},
    );
    expect((await statusOf(call)).code).toBe(status.INTERNAL);
    expect(await trailOf(id("bad"), 2)).toStrictEqual([AUTHN_OK, unresolved("INTERNAL")]);
  });

  it("records a request over grpc.max_receive_message_length as unchecked, with RESOURCE_EXHAUSTED", async () => {
    const big = Buffer.concat([request, Buffer.alloc(MAX_RECEIVE)]);
    const call = client.makeUnaryRequest(path, raw, raw, big, metadataFor(id("big")), () => {});
    expect((await statusOf(call)).code).toBe(status.RESOURCE_EXHAUSTED);
    expect(await trailOf(id("big"), 2)).toStrictEqual([AUTHN_OK, unresolved("RESOURCE_EXHAUSTED")]);
  });

  it("records a request over the limit that came with its half-close while its token was being verified, with RESOURCE_EXHAUSTED", async () => {
    // A token not verified before: authn still checks it when grpc-js refuses the message and then
    // answers the half-close UNIMPLEMENTED itself, a status that never reaches the client.
    const fresh = await signToken(key, { sub: "alice", jti: id("fresh") });
    const big = Buffer.concat([request, Buffer.alloc(MAX_RECEIVE)]);
    expect(await rawCall(path, id("fresh"), big, { token: fresh })).toBe(status.RESOURCE_EXHAUSTED);
    expect(await trailOf(id("fresh"), 2)).toStrictEqual([AUTHN_OK, unresolved("RESOURCE_EXHAUSTED")]);
  });

  it.each([
    ["an unsupported grpc-encoding", "snappy", status.UNIMPLEMENTED],
    ["a message that does not decompress", "gzip", status.INTERNAL],
  ])(
    "records a request with %s as unchecked, with the status the client got",
    async (what, encoding, code) => {
      const requestId = id(encoding);
      expect(await compressed(path, requestId, request, encoding)).toBe(code);
      expect(await trailOf(requestId, 2)).toStrictEqual([AUTHN_OK, unresolved(status[code])]);
      void what;
    },
  );

  it("records a call whose deadline passes before its request message as unchecked, with DEADLINE_EXCEEDED", async () => {
    // A deadline the server reads as the client's, HELD_DEADLINE_MS away: 300 ms on the real clock lost
    // to a loaded machine, whose server read the call late (the trail then missed its end).
    const clock = holdDeadline();
    try {
      const call = client.makeClientStreamRequest(
        path,
        raw,
        raw,
        metadataFor(id("late")),
        { deadline: clock.deadline },
        () => {},
      );
      const { code } = await statusOf(call);
      clock.passed();
      expect(code).toBe(status.DEADLINE_EXCEEDED);
      expect(await trailOf(id("late"), 2)).toStrictEqual([AUTHN_OK, unresolved("DEADLINE_EXCEEDED")]);
    } finally {
      clock.release();
    }
  });

  it("records a call the client cancels before its request message once, unchecked, never as a mutation", async () => {
    const call = client.makeClientStreamRequest(path, raw, raw, metadataFor(id("cancel")), () => {});
    const ended = statusOf(call);
    await expect.poll(() => memory.events.filter((e) => e.requestId === id("cancel")).length).toBe(1);
    call.cancel();
    expect((await ended).code).toBe(status.CANCELLED);
    const trail = await trailOf(id("cancel"), 2);
    // grpc-js reads the client's reset as the end of the request and answers it UNIMPLEMENTED through
    // the interceptors (docs/recorder-and-events.md, limits): either status is the call's.
    expect(trail.slice(0, 1)).toStrictEqual([AUTHN_OK]);
    expect([unresolved("UNIMPLEMENTED"), unresolved("CANCELLED")]).toContainEqual(trail[1]);
    expect(trail).toHaveLength(2);
  });
});

describe("a client whose deadline cancels the call just before the server's deadline timer", () => {
  // The client's timer starts first, so its reset usually comes a little before the server's own
  // deadline; grpc-js reads that reset as a half-close without a request message (UNIMPLEMENTED).
  it("is recorded as DEADLINE_EXCEEDED, as the client got it", async () => {
    // Only Date and performance.now (on which the server measures the time to its deadline) are faked,
    // and moved on by the test: the server's deadline is then exactly 5 s from the request, and the
    // reset reaches it 60 ms before that however long the connection and the server took to read the
    // request (a real 340 ms sleep of a 400 ms timeout left those 40 ms inside the 100 ms tolerance: a
    // loaded machine takes more, and the reset was recorded as UNIMPLEMENTED).
    vi.useFakeTimers({ toFake: ["Date", "performance"] });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const sent = Date.now();
      const request = session.request({
        ":method": "POST",
        ":path": DELETE,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": "5S", // far: the server's own (real) deadline timer never wins
        authorization: `Bearer ${token}`,
        "x-request-id": "reset-at-deadline",
      });
      request.on("error", () => {});
      request.on("data", () => {});
      // Its authn event: the server has read the request, and its deadline. A loop on real timers:
      // expect.poll steps the faked clocks by its interval at every try.
      while (!memory.events.some((e) => e.requestId === "reset-at-deadline")) await sleep(5);
      // Within DEADLINE_TOLERANCE_MS (100 ms) of the server's deadline; no timer is faked, none fires.
      vi.advanceTimersByTime(sent + 5000 - 60 - Date.now());
      request.close(http2.constants.NGHTTP2_CANCEL);
      expect(await trailOf("reset-at-deadline", 2)).toStrictEqual([
        AUTHN_OK,
        unresolved("DEADLINE_EXCEEDED"),
      ]);
    } finally {
      vi.useRealTimers();
      session.close();
    }
  });
});

describe("a server-streaming method with a mutation rule (record_on_error)", () => {
  it("records a call with no request message as unchecked, not as a mutation", async () => {
    expect((await streamTo(ARCHIVE, "archive-none", [])).code).toBe(status.UNIMPLEMENTED);
    expect(await trailOf("archive-none", 2)).toStrictEqual([AUTHN_OK, unresolved("UNIMPLEMENTED")]);
  });

  it("still records a call whose handler ran", async () => {
    expect((await streamTo(ARCHIVE, "archive-one", [archiveP1])).code).toBe(status.OK);
    expect(await trailOf("archive-one", 3)).toStrictEqual([
      AUTHN_OK,
      ALLOWED,
      ["resourceMutation", "OK", "p-1"],
    ]);
  });
});

describe("the event of a call that ended before authz could read its object id", () => {
  it("is a whole authz event: unresolved, with the status the client got", async () => {
    const fixed = fixedRecorder();
    const { authorizer } = createFakeAuthorizer([]);
    const own = await start(
      createAuditInterceptors({ recorder: fixed.recorder, rules, authz: { authorizer, rules: authzRules } }),
    );
    const other = new Client(`127.0.0.1:${own.port}`, credentials.createInsecure());
    try {
      const metadata = new Metadata();
      metadata.set("x-request-id", "whole-1");
      const call = other.makeClientStreamRequest(DELETE, raw, raw, metadata, () => {});
      const ended = statusOf(call);
      call.end();
      expect((await ended).code).toBe(status.UNIMPLEMENTED);
      await fixed.memory.waitForCount(1);
      await sleep(50);
      expect(fixed.memory.events).toStrictEqual([
        {
          eventId: "evt-1",
          eventType: EventType.EVENT_TYPE_AUTHZ_DECISION,
          schemaVersion: 2,
          occurredAt: FIXED_TIME,
          service: "projects",
          operation: DELETE,
          payload: undefined,
          actor: {
            id: "anonymous",
            type: ActorType.ACTOR_TYPE_ANONYMOUS,
            displayName: "",
            email: "",
            subject: "",
            clientId: "",
            realm: "",
          },
          target: { type: "project", id: "", name: "" },
          result: { success: false, code: "UNIMPLEMENTED", message: "" },
          traceId: "",
          spanId: "",
          requestId: "whole-1",
          peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
          duration: expect.any(Object),
          userAgent: expect.stringMatching(/^grpc-node-js\//),
          chain: expect.any(Object),
          attributes: {},
          instance: "",
          detail: {
            $case: "authz",
            value: {
              relation: "owner",
              objectType: "project",
              objectId: "",
              decision: AuthzDecision.AUTHZ_DECISION_ERROR,
              cacheHit: false,
              errorReason: "object_id_unresolved",
              storeId: authorizer.storeId,
              modelId: authorizer.modelId,
              user: "",
            },
          },
        },
      ]);
      expect(fixed.recorder.stats().authz).toStrictEqual({ allowed: 0, denied: 0, no_rule: 0, error: 1 });
      expect(fixed.recorder.stats().recorded["resource.mutation"]).toBe(0);
    } finally {
      other.close();
      own.server.forceShutdown();
    }
  });
});

describe("a path no service registers", () => {
  it("never reaches the interceptors: nothing is recorded or counted", async () => {
    const before = recorder.stats();
    const call = client.makeUnaryRequest(
      "/example.v1.ProjectService/Nope",
      raw,
      raw,
      deleteP1,
      metadataFor("nope"),
      () => {},
    );
    expect((await statusOf(call)).code).toBe(status.UNIMPLEMENTED);
    await sleep(100);
    expect(memory.events).toStrictEqual([]);
    expect(recorder.stats().recorded).toStrictEqual(before.recorded);
  });
});

describe("counts", () => {
  it("counts each unchecked call as an authz error in stats()", async () => {
    const before = recorder.stats().authz.error;
    await streamTo(DELETE, "count-none", []);
    await trailOf("count-none", 2);
    expect(recorder.stats().authz.error).toBe(before + 1);
  });
});
