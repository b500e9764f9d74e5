// the authn and authz interceptors hand the Recorder their own reports. An authenticator or
// authorizer written in JavaScript may answer outside its TypeScript contract; the interceptors already
// turn some of that into "error" (no outcome, no actor id, no decision kind), but other shapes passed
// through and the Recorder refused the report as invalid: the refusal (or the caller's authentication)
// then never reached the trail, and an actor whose fields the schema cannot hold also made every later
// event of the call fail to build (the mutation that ran was lost). Every attempt must be recorded.
import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import type { Authorizer } from "../../src/authz/authorizer.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { callOfKind, startProjectServer } from "../helpers/project-server.js";

async function serve(authenticator: Authenticator, authorizer?: Authorizer) {
  const memory = createMemoryEmitter();
  const errors: Error[] = [];
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    onError: (error) => errors.push(error),
  });
  const server = await startProjectServer(
    createAuditInterceptors({
      recorder,
      rules: auditRules,
      failMode: "closed",
      authn: { authenticators: [authenticator] },
      ...(authorizer === undefined ? {} : { authz: { authorizer, rules: authzRules } }),
    }),
  );
  return { memory, errors, recorder, server };
}

const withId = (requestId: string, token?: string) => {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
};

const throwingActor = {
  id: "mallory",
  get displayName(): string {
    throw new Error("getter bug");
  },
};

describe("an authenticator written in JavaScript", () => {
  it.each([
    ["a refusal reason the schema has no value for", { kind: "refused", reason: "banned" }],
    [
      "an actor type the schema has no value for",
      { kind: "authenticated", actor: { id: "x", type: "robot" } },
    ],
    ["an actor name that is not a string", { kind: "authenticated", actor: { id: "x", displayName: 5 } }],
    ["an empty actor id", { kind: "authenticated", actor: { id: "" } }],
    ["an actor whose getter throws", { kind: "authenticated", actor: throwingActor }],
  ])("%s: refused as error, and the refusal is recorded", async (_name, outcome) => {
    const authenticator: Authenticator = { method: "custom", authenticate: () => outcome as never };
    const { memory, recorder, server } = await serve(authenticator);
    try {
      const seen = await callOfKind(server.client, "unary", withId("js-authn"));
      // An authenticator's broken answer checks no credential: UNAVAILABLE, not UNAUTHENTICATED.
      expect([seen.code, seen.trailers.get("x-request-id")]).toStrictEqual([
        status.UNAVAILABLE,
        ["js-authn"],
      ]);
      const [event] = await memory.waitForCount(1);
      expect([event?.eventType, event?.requestId, event?.result?.code]).toStrictEqual([
        EventType.EVENT_TYPE_AUTHN_RESULT,
        "js-authn",
        "UNAVAILABLE",
      ]);
      expect(recorder.stats()).toMatchObject({ invalid: 0, failed: 0, authn: { error: 1 } });
    } finally {
      await server.close();
    }
  });

  it("a valid actor given with every optional field still authenticates, copied as given", async () => {
    const actor = { id: "svc-1", type: "service", displayName: "Importer", email: "", realm: "ops" };
    const authenticator: Authenticator = {
      method: "custom",
      authenticate: () => ({ kind: "authenticated", actor }) as never,
    };
    const { memory, recorder, server } = await serve(authenticator);
    try {
      expect((await callOfKind(server.client, "unary", withId("js-ok"))).code).toBe(status.OK);
      const events = await memory.waitForCount(2);
      expect(
        events.map((e) => [e.eventType, e.actor?.id, e.actor?.displayName, e.actor?.realm]),
      ).toStrictEqual([
        [EventType.EVENT_TYPE_AUTHN_RESULT, "svc-1", "Importer", "ops"],
        [EventType.EVENT_TYPE_RESOURCE_MUTATION, "svc-1", "Importer", "ops"],
      ]);
      expect(recorder.stats()).toMatchObject({ invalid: 0, failed: 0 });
    } finally {
      await server.close();
    }
  });
});

describe("an authorizer written in JavaScript", () => {
  it.each([
    [
      "an error whose reason is not a string",
      { kind: "error", reason: 42, error: new Error("x") },
      status.UNAVAILABLE,
    ],
    ["an allow whose cacheHit is not a boolean", { kind: "allowed", cacheHit: "yes" }, status.OK],
    ["a deny whose cacheHit is not a boolean", { kind: "denied", cacheHit: 1 }, status.PERMISSION_DENIED],
  ])("%s: the decision is recorded", async (_name, decision, code) => {
    const key = await newSigningKey("k1", "ES256");
    const token = await signToken(key, { sub: "alice" });
    const authorizer = {
      check: async () => decision as never,
      batchCheck: async () => [],
    } as unknown as Authorizer;
    const { memory, recorder, server } = await serve(jwtAuthenticatorFor(key), authorizer);
    try {
      expect((await callOfKind(server.client, "unary", withId("js-authz", token))).code).toBe(code);
      const events = await memory.waitForCount(2);
      expect(events[1]?.eventType).toBe(EventType.EVENT_TYPE_AUTHZ_DECISION);
      expect(recorder.stats()).toMatchObject({ invalid: 0, failed: 0 });
    } finally {
      await server.close();
    }
  });
});
