/**
 * The audit metrics have a bounded set of series whatever callers send: method names (known or
 * not), tokens and ids chosen by a caller never become attribute values. Real gRPC over loopback:
 * known and unknown method paths, with valid, bad and missing tokens.
 */
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { instrumentAudit } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";
import { testMeterProvider } from "./metric-reader.js";

/** Every attribute value the audit metrics may carry with this setup (the memory emitter's name included). */
const BOUNDED = new Set([
  ...["authn.result", "authz.decision", "tuple.change", "resource.mutation", "resource.access"],
  ...["chain.checkpoint", "record.summary", "success", "failure", "allowed", "denied", "no_rule", "error"],
  ...["missing", "malformed", "bad_signature", "expired", "not_yet_valid", "wrong_issuer"],
  ...["wrong_audience", "wrong_type", "unknown_key", "disallowed_algorithm", "memory", "capacity", "closed"],
]);

describe("metric attributes under caller-chosen method names and tokens", () => {
  const { meterProvider, collect } = testMeterProvider();
  const memory = createMemoryEmitter({ name: "memory", capacity: 1_000 });
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const instrumentation = instrumentAudit({ recorder, meterProvider });
  const fake = createFakeAuthorizer(["user:alice|editor|project:p-1"]);
  let server: ProjectServer;
  let client: Client;
  let token = "";

  beforeAll(async () => {
    const key = await newSigningKey("k1", "ES256");
    token = await signToken(key, { sub: "alice" });
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
        authz: { authorizer: fake.authorizer, rules: authzRules },
      }),
    );
    client = new Client(`127.0.0.1:${server.port}`, credentials.createInsecure());
  });
  afterAll(async () => {
    instrumentation.close();
    client.close();
    await server.close();
    await recorder.close();
  });

  /** Calls `path` (any method name) with an empty request and these credentials; resolves when it ends. */
  function callPath(path: string, authorization: string | undefined): Promise<void> {
    const metadata = new Metadata();
    if (authorization !== undefined) metadata.set("authorization", authorization);
    const identity = (bytes: Buffer) => bytes;
    return new Promise((resolve) => {
      client.makeUnaryRequest(path, identity, identity, Buffer.alloc(0), metadata, () => resolve());
    });
  }

  /** Every (metric, attributes) series collected, as sorted text. */
  async function series(): Promise<string[]> {
    const out: string[] = [];
    for (const [name, metric] of await collect()) {
      for (const point of metric.points) out.push(`${name} ${JSON.stringify(point.attributes)}`);
    }
    return out.sort();
  }

  it("adds no series for new method names, tokens or ids", async () => {
    const credentialsOf = [`Bearer ${token}`, "Bearer not-a-jwt", undefined];
    const round = async (i: number) => {
      for (const authorization of credentialsOf) {
        await callPath(`/example.v1.ProjectService/UpdateProject`, authorization);
        await callPath(`/attacker.v${i}.Service${i}/Method-${i}`, authorization);
        await callPath(`/example.v1.ProjectService/NoSuchMethod${i}`, authorization);
        const metadata = new Metadata();
        if (authorization !== undefined) metadata.set("authorization", authorization);
        await unary(
          server.client.updateProject.bind(server.client),
          { project: { id: `p-${i}`, name: `n-${i}`, ownerId: "" } },
          metadata,
        );
      }
      expect((await recorder.flush()).ok).toBe(true);
    };
    await round(0);
    const first = await series();
    for (let i = 1; i <= 20; i++) await round(i);
    const later = await series();

    expect(later).toStrictEqual(first);
    // The calls did run: each round authenticated its six calls to UpdateProject.
    expect(recorder.stats().recorded["authn.result"]).toBeGreaterThanOrEqual(21 * 6);
    for (const metric of (await collect()).values()) {
      for (const point of metric.points) {
        for (const value of Object.values(point.attributes)) expect(BOUNDED).toContain(value);
      }
    }
  });
});
