// The in-process benchmark compares the audit scope interceptor's call object (ScopedCall) with the
// same interceptor in grpc-js's builder form (bench/scope-builder.ts), to decide whether the call
// object pays (docs/performance.md, "Design choices the numbers rest on"). That comparison is only
// fair while both do the same work: each behaviour of ScopedCall, checked on both over real gRPC.
import { Metadata, ServerInterceptingCall, type ServerInterceptor, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scopeBuilder } from "../../bench/scope-builder.js";
import { CreateProjectRequest } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { currentAuditScope } from "../../src/context/scope.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const CREATE = "/example.v1.ProjectService/CreateProject";
const OK_REQUEST = Buffer.from(CreateProjectRequest.encode({ name: "ok" }).finish());

describe.each([
  ["the call object (ScopedCall)", undefined],
  ["the bench's builder form", scopeBuilder("x-request-id")],
])("the audit scope interceptor as %s", (_name, builder) => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  /** The request id of the scope each call's onCancel ran in, past the scope interceptor. */
  const cancelledIn: (string | undefined)[] = [];
  // Refuses calls that ask for it, as authn does: a status before any header, from inside the chain.
  const inner: ServerInterceptor = (_method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, next) => {
            const [refuse] = metadata.get("x-refuse");
            // "lone-surrogate": details grpc-js cannot send as they are (its encodeURI throws).
            const details = refuse === "lone-surrogate" ? "refused \ud800" : "refused";
            if (refuse === undefined) next(metadata);
            else call.sendStatus({ code: status.PERMISSION_DENIED, details, metadata: null });
          },
          onCancel: () => cancelledIn.push(currentAuditScope()?.requestId),
        }),
    });
  let server: ProjectServer;

  beforeAll(async () => {
    const [scope, ...rest] = createAuditInterceptors({ recorder, rules: auditRules });
    server = await startProjectServer([builder ?? (scope as ServerInterceptor), inner, ...rest]);
  });
  afterAll(() => server.close());

  const withId = (requestId: string, refuse: false | "yes" | "lone-surrogate" = false) => {
    const metadata = new Metadata();
    metadata.set("x-request-id", requestId);
    if (refuse !== false) metadata.set("x-refuse", refuse);
    return metadata;
  };

  /** Sends `bytes` as a CreateProject request, raw; resolves at the status with what came back. */
  function raw(bytes: Buffer, metadata: Metadata) {
    return new Promise<{ code: status; details: string; headers: Metadata | undefined; trailers: Metadata }>(
      (resolve) => {
        let headers: Metadata | undefined;
        const same = (x: Buffer) => x;
        const call = server.client.makeUnaryRequest(CREATE, same, same, bytes, metadata, {}, () => {});
        call.on("metadata", (received: Metadata) => {
          headers = received;
        });
        call.on("status", (end: { code: status; details: string; metadata: Metadata }) =>
          resolve({ code: end.code, details: end.details, headers, trailers: end.metadata }),
        );
      },
    );
  }

  it("puts the request id on the response headers of an answered call", async () => {
    const seen = await raw(OK_REQUEST, withId("r-answered"));
    expect([seen.code, seen.headers?.get("x-request-id")]).toStrictEqual([status.OK, ["r-answered"]]);
  });

  it("puts it on the status of a call refused inside the chain, the whole response", async () => {
    const seen = await raw(OK_REQUEST, withId("r-refused", "yes"));
    expect([seen.code, seen.headers, seen.trailers.get("x-request-id")]).toStrictEqual([
      status.PERMISSION_DENIED,
      undefined,
      ["r-refused"],
    ]);
  });

  it("makes a status's details sendable: a lone surrogate becomes U+FFFD", async () => {
    const seen = await raw(OK_REQUEST, withId("r-surrogate", "lone-surrogate"));
    expect([seen.code, seen.details]).toStrictEqual([status.PERMISSION_DENIED, "refused \ufffd"]);
  });

  it("puts it on a status grpc-js sends itself, past the interceptors", async () => {
    const seen = await raw(Buffer.from([0xff, 0xff, 0xff, 0xff]), withId("r-undecodable"));
    expect([seen.code, seen.headers, seen.trailers.get("x-request-id")]).toStrictEqual([
      status.INTERNAL,
      undefined,
      ["r-undecodable"],
    ]);
  });

  it("notes a status grpc-js sends itself for the rules interceptor's record", async () => {
    const [error] = await unary(
      server.client.createProject.bind(server.client),
      { name: "unserializable" },
      withId("r-unserializable"),
    );
    expect(error?.code).toBe(status.INTERNAL);
    const event = await memory.waitFor((e) => e.requestId === "r-unserializable");
    expect(event.result?.message).toBe("grpc-js ended the call (INTERNAL); the handler finished OK");
  });

  it("runs the handler in the call's scope, and the onCancel after every call too", async () => {
    const before = server.seenScopes.length;
    const [error] = await unary(
      server.client.createProject.bind(server.client),
      { name: "scoped" },
      withId("r-scoped"),
    );
    expect(error).toBeNull();
    expect(server.seenScopes.slice(before).map((scope) => scope?.requestId)).toStrictEqual(["r-scoped"]);
    await expect.poll(() => cancelledIn.includes("r-scoped")).toBe(true);
  });
});
