// A token refused as "error" tells why through `onError`: the key set's HTTP status or the error's
// class and code, the key that could not verify, a throwing toActor; never a token, claim or key.
// Real JWKS endpoints over loopback HTTP, wired to a real Recorder as the docs show.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Metadata } from "@grpc/grpc-js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator, type JwtAuthenticatorOptions } from "../../src/authn/jwt-authenticator.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { AuditError } from "../../src/errors/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A key set endpoint answering `status` with `body`. */
async function jwksAnswering(status: number, body: string): Promise<string> {
  server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
}

/** A port nothing listens on: a server opened and closed. */
async function closedPort(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}/jwks`;
}

describe("JWT authenticator: why a token was refused as error", () => {
  let key: SigningKey;
  let token: string;
  beforeAll(async () => {
    key = await newSigningKey("k1");
    token = await signToken(key, { email: "alice@example.com" });
  });

  /** The outcome of one real token, and what `onError` was told, through a Recorder. */
  async function refusal(options: Partial<JwtAuthenticatorOptions>) {
    const recorder = createRecorder({
      service: "projects",
      emitters: [createMemoryEmitter()],
      onError: () => {},
    });
    const told: Error[] = [];
    const jwt = createJwtAuthenticator({
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      onError: (error) => {
        told.push(error);
        recorder.reportError(error);
      },
      ...options,
    } as JwtAuthenticatorOptions);
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    const outcome = await jwt.authenticate(metadata, CALL);
    for (const error of told) {
      expect(error).toBeInstanceOf(AuditError);
      expect(error.message).not.toContain(token.slice(0, 20));
      expect(error.message).not.toContain("alice");
      expect(error.cause).toBeUndefined();
    }
    return { outcome, messages: told.map((error) => error.message), errors: recorder.stats().errors };
  }

  // Before the fix: each was refused as "error" and nothing else was told; stats().errors stayed 0.
  it.each([
    [
      "an endpoint answering 500",
      () => jwksAnswering(500, "{}"),
      "the key set could not be fetched (HTTP 500): JOSEError (ERR_JOSE_GENERIC)",
    ],
    [
      "an HTML page",
      () => jwksAnswering(200, "<html>maintenance</html>"),
      "the key set could not be fetched (HTTP 200): JOSEError (ERR_JOSE_GENERIC)",
    ],
    [
      "a body that is no key set",
      () => jwksAnswering(200, '{"keys": 1}'),
      "the key set could not be fetched (HTTP 200): JWKSInvalid (ERR_JWKS_INVALID)",
    ],
    [
      "a body larger than 1 MiB",
      () => jwksAnswering(200, `{"keys":[],"pad":"${"x".repeat(1024 * 1024)}"}`),
      // Before the fix: without the status, the size was checked before the status was noted.
      "the key set could not be fetched (HTTP 200): Error (ERR_JWKS_TOO_LARGE)",
    ],
    ["a refused connection", closedPort, "the key set could not be fetched: TypeError (ECONNREFUSED)"],
  ])("names the cause for %s", async (_, url, cause) => {
    const { outcome, messages, errors } = await refusal({ jwksUrl: await url() });
    expect(outcome).toStrictEqual({ kind: "refused", reason: "error" });
    expect(messages).toStrictEqual([`jwt authenticator: token refused as "error": ${cause}`]);
    expect(errors).toBe(1);
  });

  it("names a fetch that timed out by its string codes, not its cause's legacy number", async () => {
    server = createServer(() => {}); // accepts the request, never answers
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    const { outcome, messages } = await refusal({ jwksUrl, remoteJwksOptions: { timeoutDuration: 100 } });
    expect(outcome).toStrictEqual({ kind: "refused", reason: "error" });
    // The cause is a DOMException "TimeoutError", whose `code` is 23.
    expect(messages).toStrictEqual([
      'jwt authenticator: token refused as "error": the key set could not be fetched: JWKSTimeout (ERR_JWKS_TIMEOUT)',
    ]);
  });

  it("names a key set fetch skipped after a failure", async () => {
    const url = await jwksAnswering(500, "{}");
    const jwt = (onError: (error: Error) => void) =>
      createJwtAuthenticator({
        jwksUrl: url,
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ["RS256"],
        onError,
      });
    const told: string[] = [];
    const authenticator = jwt((error) => told.push(error.message));
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    await authenticator.authenticate(metadata, CALL);
    await authenticator.authenticate(metadata, CALL);
    expect(told[1]).toBe(
      'jwt authenticator: token refused as "error": the key set could not be fetched (HTTP 500): Error (ERR_JWKS_PAUSED)',
    );
  });

  it("names a throwing toActor by its class only, never its message", async () => {
    const { outcome, messages } = await refusal({
      jwks: key.jwks,
      toActor: (claims) => {
        throw new RangeError(`no directory entry for ${String(claims.email)}`);
      },
    });
    expect(outcome).toStrictEqual({ kind: "refused", reason: "error" });
    expect(messages).toStrictEqual(['jwt authenticator: token refused as "error": toActor threw RangeError']);
  });

  it("names a local key set whose key material is bad", async () => {
    const bad = { keys: [{ ...key.jwks.keys[0], n: "AA" }] };
    const { outcome, messages } = await refusal({ jwks: bad });
    expect(outcome).toStrictEqual({ kind: "refused", reason: "error" });
    expect(messages).toStrictEqual([
      'jwt authenticator: token refused as "error": the key could not verify the token: TypeError',
    ]);
  });

  it("tells nothing for a refusal that is not an error, and survives a throwing onError", async () => {
    const { outcome, messages } = await refusal({ jwks: key.jwks, audience: "other-api" });
    expect([outcome, messages]).toStrictEqual([{ kind: "refused", reason: "wrong_audience" }, []]);
    const url = await jwksAnswering(500, "{}");
    const jwt = createJwtAuthenticator({
      jwksUrl: url,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      onError: () => {
        throw new Error("observer broke");
      },
    });
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    expect(await jwt.authenticate(metadata, CALL)).toStrictEqual({ kind: "refused", reason: "error" });
  });
});
