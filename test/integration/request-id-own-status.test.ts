// a call grpc-js ends itself before any header went out (a request message it cannot decode,
// or one larger than grpc.max_receive_message_length) must still carry the call's request id, as every
// refused call does (`requestIdHeader`: "Also on refused calls"); the call's authn event already names it.
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer } from "../helpers/project-server.js";

describe("the request id of a call grpc-js refuses itself", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  let server: ProjectServer;
  let token = "";

  beforeAll(async () => {
    const key = await newSigningKey("k1", "ES256");
    token = await signToken(key, { sub: "alice" });
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
      }),
    );
  });
  afterAll(() => server.close());

  /** Sends `bytes` as the request of `path` (unary or server streaming), raw; resolves at the status. */
  function send(path: string, bytes: Buffer, requestId: string, streaming: boolean) {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    metadata.set("x-request-id", requestId);
    return new Promise<{ code: status; trailers: Metadata; headers: Metadata | undefined }>((resolve) => {
      let headers: Metadata | undefined;
      const raw = (x: Buffer) => x;
      const call = streaming
        ? server.client.makeServerStreamRequest(path, raw, raw, bytes, metadata, {})
        : server.client.makeUnaryRequest(path, raw, raw, bytes, metadata, {}, () => {});
      call.on("metadata", (received: Metadata) => {
        headers = received;
      });
      call.on("data", () => {});
      call.on("error", () => {});
      call.on("status", (end: { code: status; metadata: Metadata }) =>
        resolve({ code: end.code, trailers: end.metadata, headers }),
      );
    });
  }

  const GARBAGE = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  it.each([
    [
      "an undecodable unary request",
      "/example.v1.ProjectService/CreateProject",
      GARBAGE,
      false,
      status.INTERNAL,
    ],
    [
      "an undecodable server-streaming request",
      "/example.v1.ProjectService/ArchiveProject",
      GARBAGE,
      true,
      status.INTERNAL,
    ],
    [
      "a unary request above 4 MiB",
      "/example.v1.ProjectService/CreateProject",
      Buffer.alloc(4 * 1024 * 1024 + 16),
      false,
      status.RESOURCE_EXHAUSTED,
    ],
  ])("%s carries the request id its authn event names", async (name, path, bytes, streaming, code) => {
    const requestId = `own-${name.replaceAll(" ", "-")}`;
    const seen = await send(path, bytes, requestId, streaming);
    expect(seen.code).toBe(code);
    expect(seen.headers).toBeUndefined(); // the status is the whole response
    const authn = await memory.waitFor((event) => event.requestId === requestId);
    expect(authn?.eventType).toBe(EventType.EVENT_TYPE_AUTHN_RESULT);
    expect(seen.trailers.get("x-request-id")).toStrictEqual([requestId]);
  });
});
