/**
 * jose reads a remote key set's whole body into memory; its timeout bounds the time, not the size.
 * The authenticator reads at most 1 MiB of it: a larger key set is a failed fetch (tokens refused as
 * "error"), and the endpoint's stream is cut instead of being read to its end. Real JWKS over loopback HTTP.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Metadata } from "@grpc/grpc-js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { MAX_JWKS_BYTES } from "../../src/authn/bounded-jwks-fetch.js";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { AUDIENCE, ISSUER, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

async function serve(handler: (res: ServerResponse) => void): Promise<string> {
  server = createServer((_req, res) => handler(res));
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
}

/** The key set as JSON text with a `padding` member making it `bytes` long (jose ignores unknown members). */
function paddedKeySet(key: SigningKey, bytes: number): string {
  const bare = JSON.stringify({ ...key.jwks, padding: "" });
  return JSON.stringify({ ...key.jwks, padding: "x".repeat(bytes - bare.length) });
}

async function authenticateWith(url: string, key: SigningKey) {
  const jwt = createJwtAuthenticator({
    jwksUrl: url,
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ["RS256"],
    cache: false,
  });
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${await signToken(key)}`);
  return jwt.authenticate(metadata, CALL);
}

describe("JWT authenticator: the size of a remote key set", () => {
  let key: SigningKey;
  beforeAll(async () => {
    key = await newSigningKey("k1");
  });

  it("verifies with a key set of exactly the limit, sent in chunks without a length", async () => {
    const body = paddedKeySet(key, MAX_JWKS_BYTES);
    const url = await serve((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      for (let at = 0; at < body.length; at += 64 * 1024) res.write(body.slice(at, at + 64 * 1024));
      res.end();
    });
    expect((await authenticateWith(url, key)).kind).toBe("authenticated");
  });

  it("refuses a valid key set one byte over the limit as an error, with or without a declared length", async () => {
    const body = paddedKeySet(key, MAX_JWKS_BYTES + 1);
    for (const declared of [true, false]) {
      const url = await serve((res) => {
        res.writeHead(200, {
          "content-type": "application/json",
          ...(declared ? { "content-length": Buffer.byteLength(body) } : {}),
        });
        res.end(body);
      });
      expect(await authenticateWith(url, key)).toStrictEqual({ kind: "refused", reason: "error" });
      server?.closeAllConnections();
      server?.close();
    }
  });

  it("stops reading an endless body soon after the limit", async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const url = await serve((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const pump = () => {
        // Stops at 256 MiB, far beyond what a bounded reader takes; the socket closing stops it sooner.
        while (!res.destroyed && sent < 256 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
    expect(await authenticateWith(url, key)).toStrictEqual({ kind: "refused", reason: "error" });
    // Socket buffers hold a few MiB at most beyond what was read.
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });
});
