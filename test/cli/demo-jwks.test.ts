// `grpc-audit demo --serve --jwks-url --issuer --audience`: a client brings its own tokens. A real JWKS
// is served over HTTP on loopback, tokens are signed with its private key (jose), and the demo, run as
// the built command, verifies them against that JWKS while still playing its own script.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ProjectServiceClient } from "../../src/cli/demo/gen/example/v1/projects.js";
import { AuthnFailureReason, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, startCli, tempDir } from "./helpers.js";

const ISSUER = "https://idp.test.invalid/";
const AUDIENCE = "my-projects-client";
const { publicKey, privateKey } = await generateKeyPair("ES256");
let jwks: Server;
let jwksUrl = "";
let jwksRequests = 0;

beforeAll(async () => {
  const jwk = { ...(await exportJWK(publicKey)), kid: "idp-key-1", alg: "ES256", use: "sig" };
  jwks = createServer((request, response) => {
    jwksRequests++;
    if (request.url !== "/jwks.json") return void response.writeHead(404).end();
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  jwks.listen(0, "127.0.0.1");
  await once(jwks, "listening");
  jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  await ensureBuilt();
}, BUILD_TIMEOUT_MS);
afterAll(() => jwks.close());

/** A token of the test's issuer for `sub`, with the given audience. */
function idpToken(sub: string, audience = AUDIENCE): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: "idp-key-1" })
    .setSubject(sub)
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(privateKey);
}

function createProject(client: ProjectServiceClient, token: string, name: string) {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) =>
    client.createProject({ name }, metadata, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

it("accepts tokens signed by a key of --jwks-url with --issuer and --audience, and records them", async () => {
  const dir = tempDir();
  const db = join(dir, "jwks.db");
  const flags = ["--jwks-url", jwksUrl, "--issuer", ISSUER, "--audience", AUDIENCE];
  const child = startCli(["demo", "--serve", "--db", db, "--log", join(dir, "jwks.ndjson"), ...flags], {
    cwd: dir,
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const closed = once(child, "close");
  for (let waited = 0; !stdout.includes("work too."); waited += 20) {
    if (waited > 15_000) throw new Error(`the demo never started serving: ${stdout}`);
    await sleep(20);
  }
  expect(stdout).toContain(`Tokens of ${ISSUER} for ${AUDIENCE}, signed by a key of ${jwksUrl}, work too.\n`);
  const port = /Serving on 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const created = await createProject(client, await idpToken("carol"), "hera");
  const refused = await createProject(client, await idpToken("dave", "someone-else"), "ares").catch(
    (error: ServiceError) => error.code,
  );
  client.close();
  expect(created).toStrictEqual({ id: "p-2", name: "hera", ownerId: "carol" });
  expect(refused).toBe(status.UNAUTHENTICATED);
  expect(jwksRequests).toBeGreaterThan(0);
  child.kill("SIGINT");
  expect(await closed).toStrictEqual([0, null]);

  const store = openAuditStore({ path: db, readonly: true });
  const events = store.query({}, { limit: 1000 }).events.reverse().slice(-5);
  store.close();
  expect(
    events.map((e) => [
      e.eventType,
      e.actor?.id,
      e.result?.code,
      e.detail?.$case === "authn" ? e.detail.value.failureReason : undefined,
    ]),
  ).toStrictEqual([
    [EventType.EVENT_TYPE_AUTHN_RESULT, "carol", "OK", AuthnFailureReason.AUTHN_FAILURE_REASON_UNSPECIFIED],
    [EventType.EVENT_TYPE_AUTHZ_DECISION, "carol", "OK", undefined],
    [EventType.EVENT_TYPE_TUPLE_CHANGED, "carol", "OK", undefined],
    [EventType.EVENT_TYPE_RESOURCE_MUTATION, "carol", "OK", undefined],
    [
      EventType.EVENT_TYPE_AUTHN_RESULT,
      "anonymous",
      "UNAUTHENTICATED",
      AuthnFailureReason.AUTHN_FAILURE_REASON_WRONG_AUDIENCE,
    ],
  ]);
});

it("refuses --jwks-url without --serve, --issuer or --audience, and those two without --jwks-url", async () => {
  const usage = (problem: string) => ({ code: 2, stdout: "", stderr: `error: ${problem}\n` });
  const base = ["demo", "--db", join(tempDir(), "x.db")];
  expect(
    await runCli([...base, "--jwks-url", jwksUrl, "--issuer", ISSUER, "--audience", AUDIENCE]),
  ).toStrictEqual(usage("option '--jwks-url <url>' is only used with --serve"));
  expect(await runCli([...base, "--serve", "--jwks-url", jwksUrl, "--audience", AUDIENCE])).toStrictEqual(
    usage("option '--jwks-url <url>' needs --issuer <iss>"),
  );
  expect(await runCli([...base, "--serve", "--jwks-url", jwksUrl, "--issuer", ISSUER])).toStrictEqual(
    usage("option '--jwks-url <url>' needs --audience <aud>"),
  );
  expect(
    await runCli([
      ...base,
      "--serve",
      "--jwks-url",
      "file:///etc/keys",
      "--issuer",
      ISSUER,
      "--audience",
      AUDIENCE,
    ]),
  ).toStrictEqual(usage("option '--jwks-url <url>' must be an http:// or https:// URL"));
  expect(await runCli([...base, "--serve", "--issuer", ISSUER])).toStrictEqual(
    usage("option '--issuer <iss>' and --audience <aud> are only used with --jwks-url"),
  );
});
