import { Metadata } from "@grpc/grpc-js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import { ActorType, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

// Personal claims a token carries, made unique so any trace of them in an event is found.
const NAME = "Canary Name 7f3a";
const EMAIL = "canary-7f3a@example.com";
const EXTRA = "canary-dept-7f3a";

describe("claims copied from a token to the events, over real gRPC", () => {
  let key: SigningKey;
  let server: ProjectServer | undefined;
  beforeAll(async () => {
    key = await newSigningKey("k1");
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Serves with a JWT authenticator made with `claims`, makes one audited call, returns its events. */
  async function eventsOfOneCall(claims?: readonly ("name" | "email")[]) {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory] });
    const jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      ...(claims === undefined ? {} : { claims }),
    });
    server = await startProjectServer(
      createAuditInterceptors({ recorder, rules: auditRules, authn: { authenticators: [jwt] } }),
    );
    const metadata = new Metadata();
    const token = await signToken(key, { name: NAME, email: EMAIL, department: EXTRA, azp: "web" });
    metadata.set("authorization", `Bearer ${token}`);
    const [error] = await unary(server.client.createProject.bind(server.client), { name: "a" }, metadata);
    expect(error).toBeNull();
    const events = await memory.waitForCount(2);
    expect(events.map((e) => e.eventType)).toStrictEqual([
      EventType.EVENT_TYPE_AUTHN_RESULT,
      EventType.EVENT_TYPE_RESOURCE_MUTATION,
    ]);
    return events;
  }

  const actor = {
    id: "alice",
    type: ActorType.ACTOR_TYPE_USER,
    subject: "alice",
    clientId: "web",
    realm: ISSUER,
  };

  it("by default keeps only sub, iss and the client id: no name, email or other claim in any event", async () => {
    for (const event of await eventsOfOneCall()) {
      expect(event.actor).toStrictEqual({ ...actor, displayName: "", email: "" });
      const whole = JSON.stringify(eventToJson(event));
      for (const canary of [NAME, EMAIL, EXTRA]) expect(whole).not.toContain(canary);
    }
  });

  it("copies name and email when opted in, and still no other claim", async () => {
    for (const event of await eventsOfOneCall(["name", "email"])) {
      expect(event.actor).toStrictEqual({ ...actor, displayName: NAME, email: EMAIL });
      expect(JSON.stringify(eventToJson(event))).not.toContain(EXTRA);
    }
  });

  it("copies only the claim opted in", async () => {
    for (const event of await eventsOfOneCall(["email"])) {
      expect(event.actor).toStrictEqual({ ...actor, displayName: "", email: EMAIL });
      expect(JSON.stringify(eventToJson(event))).not.toContain(NAME);
    }
  });
});
