// When the SDK's client_credentials exchange fails, its FgaApiAuthenticationError keeps the form it
// sent to the token issuer, client secret included, in `requestData`. The authorizer's Decision.error
// and the writer's rejection are that error object: the form must be gone from it. The token issuer
// and the OpenFGA stand-in run on loopback; the client is the real @openfga/sdk.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CredentialsMethod, FgaApiAuthenticationError, type OpenFgaClient } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuditedTupleWriter, createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";

const SECRET = "client-secret-93f0aa";
const BOB_VIEWS_P1 = { user: "user:bob", relation: "viewer", object: "project:p-1" };

let standIn: OpenFgaStandIn;
let issuer: Server;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ token: "never-issued" });
  // A token issuer that refuses the client.
  issuer = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "invalid_client" }));
    });
  });
  issuer.listen(0, "127.0.0.1");
  await once(issuer, "listening");
});
afterEach(async () => {
  issuer.closeAllConnections();
  issuer.close();
  await standIn.close();
});

function clientWithSecret(): OpenFgaClient {
  const { port } = issuer.address() as AddressInfo;
  return standInClient(standIn, {
    credentials: {
      method: CredentialsMethod.ClientCredentials,
      config: {
        apiTokenIssuer: `http://127.0.0.1:${port}`,
        apiAudience: "https://fga.example/",
        clientId: "client-1",
        clientSecret: SECRET,
      },
    },
  });
}

/** Every own property of the error, as text. */
function everything(error: unknown): string {
  return JSON.stringify(error, Object.getOwnPropertyNames(error));
}

describe("SDK errors of a failed token request", () => {
  it("leave the client secret out of the authorizer's Decision.error, which stays the SDK's error", async () => {
    const authorizer = createOpenFgaAuthorizer({ client: clientWithSecret() });
    const decision = await authorizer.check(BOB_VIEWS_P1);
    expect(decision).toMatchObject({ kind: "error", reason: "FgaApiAuthenticationError" });
    const error = decision.kind === "error" ? decision.error : undefined;
    expect(error).toBeInstanceOf(FgaApiAuthenticationError);
    expect(error).toMatchObject({ statusCode: 401, clientId: "client-1", grantType: "client_credentials" });
    expect(error).not.toHaveProperty("requestData");
    expect(everything(error)).not.toContain(SECRET);
  });

  it("leave the client secret out of the writer's rejection, which stays the SDK's error", async () => {
    const { recorder } = fixedRecorder();
    const writer = createAuditedTupleWriter({ client: clientWithSecret(), recorder });
    const error = await writer.writeTuples([BOB_VIEWS_P1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FgaApiAuthenticationError);
    expect(error).toMatchObject({ statusCode: 401, clientId: "client-1" });
    expect(error).not.toHaveProperty("requestData");
    expect(everything(error)).not.toContain(SECRET);
  });

  it("keep the request's own data on other SDK errors", async () => {
    standIn.inject({ endpoint: "write", status: 503 });
    const { recorder } = fixedRecorder();
    const writer = createAuditedTupleWriter({ client: standInClient(standIn), recorder });
    const error = await writer.writeTuples([BOB_VIEWS_P1]).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 503 });
    expect(String((error as { requestData?: unknown }).requestData)).toContain("user:bob");
  });
});

describe("SDK errors of a request to an apiUrl holding a user and password (a proxy with basic auth)", () => {
  const PASSWORD = "proxy-password-51c2";

  function clientThroughProxy(): OpenFgaClient {
    const url = new URL(standIn.url);
    url.username = "proxy-user";
    url.password = PASSWORD;
    return standInClient(standIn, { apiUrl: url.href.replace(/\/$/, "") });
  }

  it("leave the password out of the authorizer's Decision.error, its host and path kept", async () => {
    standIn.inject({ endpoint: "check", status: 500 });
    const authorizer = createOpenFgaAuthorizer({ client: clientThroughProxy(), cache: false });
    const decision = await authorizer.check(BOB_VIEWS_P1);
    expect(decision).toMatchObject({ kind: "error", reason: "unavailable" });
    const error = decision.kind === "error" ? decision.error : undefined;
    expect(everything(error)).not.toContain(PASSWORD);
    expect(everything(error)).not.toContain("proxy-user");
    expect((error as { requestURL?: unknown }).requestURL).toBe(
      `${standIn.url}/stores/${standIn.storeId}/check`,
    );
  });

  it("leave the password out of the writer's rejection", async () => {
    standIn.inject({ endpoint: "write", status: 503 });
    const { recorder } = fixedRecorder();
    const writer = createAuditedTupleWriter({ client: clientThroughProxy(), recorder });
    const error = await writer.writeTuples([BOB_VIEWS_P1]).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 503 });
    expect(everything(error)).not.toContain(PASSWORD);
    expect((error as { requestURL?: unknown }).requestURL).toBe(
      `${standIn.url}/stores/${standIn.storeId}/write`,
    );
  });
});
