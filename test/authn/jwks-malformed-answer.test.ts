// A key set endpoint answering bytes that are no HTTP/1.1 refuses the token as "error", and `onError`
// names the parser's failure by its code (Node 20: "TypeError (HPE_INVALID_HEADER_TOKEN)") or, where
// undici sets no code (Node 24, undici 7), by the cause's class ("TypeError (HTTPParserError)"), never
// a bare "TypeError". Real fetch against a real loopback server writing raw bytes to its socket.
// Run on both Nodes: `PATH=/work/main/.cache/node-24/package/bin:$PATH npx vitest run <this file>`.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Metadata } from "@grpc/grpc-js";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { AUDIENCE, ISSUER, newSigningKey, signToken } from "../helpers/jwt.js";

const CALL = { method: "/example.v1.ProjectService/CreateProject", peer: "127.0.0.1:1" };

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/** A key set endpoint that writes `raw` to the socket instead of an HTTP answer. */
async function answeringRaw(raw: string): Promise<string> {
  server = createServer((_req, res) => res.socket?.end(raw));
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
}

describe("JWT authenticator: a key set endpoint answering malformed HTTP", () => {
  let token: string;
  beforeAll(async () => {
    token = await signToken(await newSigningKey("k1"), { email: "alice@example.com" });
  });

  // Before the fix, on Node 24: "…could not be fetched: TypeError", nothing saying the answer was malformed.
  it.each([
    [
      "a header value with a control character",
      "HTTP/1.1 200 OK\r\nx-a: b\u0001c\r\ncontent-length: 2\r\n\r\n{}",
      "",
    ],
    ["a body without a status line (HTTP/0.9)", '{"keys":[]}', ""],
    [
      "a chunk size that is no number",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
      " (HTTP 200)",
    ],
  ])("names the parser failure by its code or class for %s", async (_, raw, status) => {
    const told: string[] = [];
    const jwt = createJwtAuthenticator({
      jwksUrl: await answeringRaw(raw),
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      onError: (error) => told.push(error.message),
    });
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    expect(await jwt.authenticate(metadata, CALL)).toStrictEqual({ kind: "refused", reason: "error" });
    expect(told).toHaveLength(1);
    const prefix = `jwt authenticator: token refused as "error": the key set could not be fetched${status}: `;
    expect(told[0]?.slice(0, prefix.length)).toBe(prefix);
    expect(told[0]?.slice(prefix.length)).toMatch(/^TypeError \((HPE_[A-Z_]+|HTTPParserError)\)$/);
  });
});
