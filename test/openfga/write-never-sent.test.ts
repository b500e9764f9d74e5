// A tuple write the SDK never sent to OpenFGA, because its client_credentials token request failed or
// the caller's signal aborted while the token was being fetched, changed nothing: it must be recorded
// with its own reason, not "unknown_outcome", and must not hold the authorizer's cache. A write that
// was sent and whose answer was lost stays unknown. The client is the real @openfga/sdk; the token
// issuer and the OpenFGA stand-in run on loopback.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { CredentialsMethod, FgaApiAuthenticationError, type OpenFgaClient } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Decision } from "../../src/authz/authorizer.js";
import { createAuditedTupleWriter, createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { freePort } from "../helpers/free-port.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";
import { tupleOutcomes } from "./tuple-outcomes.js";

const TOKEN = "access-token-1";
const BOB_VIEWS_P1 = { user: "user:bob", relation: "viewer", object: "project:p-1" };
const allowed = (cacheHit: boolean): Decision => ({ kind: "allowed", cacheHit });

/** A token issuer on loopback that answers as `answer` says; "hold" answers a token once released. */
interface Issuer {
  url: string;
  answer: "token" | 500 | "hold";
  /** Token requests received. */
  requests: number;
  release(): void;
  close(): void;
}

async function startIssuer(): Promise<Issuer> {
  const held: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    issuer.requests++;
    req.resume();
    req.on("end", () => {
      const token = () =>
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ access_token: TOKEN, expires_in: 3600 }));
      if (issuer.answer === 500) res.writeHead(500, { "content-type": "application/json" }).end("{}");
      else if (issuer.answer === "hold") held.push(token);
      else token();
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const issuer: Issuer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answer: "token",
    requests: 0,
    release: () => {
      for (const answer of held.splice(0)) answer();
    },
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
  return issuer;
}

let standIn: OpenFgaStandIn;
let issuer: Issuer;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ token: TOKEN, tuples: [BOB_VIEWS_P1] });
  issuer = await startIssuer();
});
afterEach(async () => {
  issuer.close();
  await standIn.close();
});

/**
 * A writer whose client gets its token from `issuerUrl` (the SDK retries a failed token request 3
 * times) and retries its own requests once, and a cached authorizer it invalidates, on a client of
 * its own with the token as given.
 */
function setUp(issuerUrl: string) {
  const client: OpenFgaClient = standInClient(standIn, {
    retryParams: { maxRetry: 1, minWaitInMs: 10 },
    credentials: {
      method: CredentialsMethod.ClientCredentials,
      config: {
        apiTokenIssuer: issuerUrl,
        apiAudience: "https://fga.example/",
        clientId: "c1",
        clientSecret: "s1",
      },
    },
  });
  const checks = standInClient(standIn, {
    credentials: { method: CredentialsMethod.ApiToken, config: { token: TOKEN } },
  });
  const authorizer = createOpenFgaAuthorizer({ client: checks, cache: { ttlMs: 60_000 } });
  const { recorder, memory } = fixedRecorder();
  const writer = createAuditedTupleWriter({ client, recorder, authorizer });
  return { authorizer, writer, memory };
}

/** Whether the authorizer caches bob's decision again (no hold after an unknown outcome). */
async function cachesAgain(authorizer: ReturnType<typeof setUp>["authorizer"]): Promise<void> {
  expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(allowed(false));
  expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(allowed(true));
}

describe("a tuple write that was never sent", () => {
  it("is recorded as unavailable when the token issuer cannot be reached", async () => {
    const { authorizer, writer, memory } = setUp(`http://127.0.0.1:${await freePort()}`);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(allowed(false));
    await expect(writer.deleteTuples([BOB_VIEWS_P1])).rejects.toMatchObject({ name: "FgaError" });
    expect(standIn.counts.write).toBe(0);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "unavailable"]]);
    expect(memory.events[0]?.result?.code).toBe("UNAVAILABLE");
    await cachesAgain(authorizer);
  });

  it("is recorded as unavailable in non-transactional mode, whose chunks all failed for the token", async () => {
    const { authorizer, writer, memory } = setUp(`http://127.0.0.1:${await freePort()}`);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(allowed(false));
    // The SDK reports each chunk's failure in its response instead of throwing.
    const response = await writer.deleteTuples([BOB_VIEWS_P1], { transaction: { disable: true } });
    expect(response.deletes[0]).toMatchObject({ status: "failure", err: { name: "FgaError" } });
    expect(standIn.counts.write).toBe(0);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "unavailable"]]);
    await cachesAgain(authorizer);
  });

  it("is recorded as unavailable when the token issuer answers 500", async () => {
    issuer.answer = 500;
    const { authorizer, writer, memory } = setUp(issuer.url);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(allowed(false));
    const error = await writer.deleteTuples([BOB_VIEWS_P1]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FgaApiAuthenticationError);
    expect(error).toMatchObject({ statusCode: 500 });
    expect(standIn.counts.write).toBe(0);
    expect(standIn.tuples()).toStrictEqual([BOB_VIEWS_P1]);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "unavailable"]]);
    expect(memory.events[0]?.result?.code).toBe("UNAVAILABLE");
    await cachesAgain(authorizer);
  });

  it("is recorded as aborted when the signal aborts while the token is fetched, and is not sent later", async () => {
    issuer.answer = "hold";
    const { authorizer, writer, memory } = setUp(issuer.url);
    expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual(allowed(false));
    const controller = new AbortController();
    const deleted = writer
      .deleteTuples([BOB_VIEWS_P1], { signal: controller.signal })
      .catch((e: unknown) => e);
    await expect.poll(() => issuer.requests).toBe(1);
    controller.abort();
    expect(await deleted).toBe(controller.signal.reason);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "aborted"]]);
    expect(memory.events[0]?.result?.code).toBe("CANCELLED");
    await cachesAgain(authorizer);

    // The token arrives: the next call is the first request OpenFGA gets, and bob's tuple is still there.
    issuer.release();
    issuer.answer = "token";
    await writer.writeTuples([{ ...BOB_VIEWS_P1, object: "project:p-2" }]);
    expect(standIn.counts.write).toBe(1);
    expect(standIn.tuples()).toContainEqual(BOB_VIEWS_P1);
  });
});

describe("a tuple write that was sent with a fetched token", () => {
  it("is recorded as unknown_outcome when its answer is lost", async () => {
    const { writer, memory } = setUp(issuer.url);
    standIn.inject({ endpoint: "write", reset: true, times: 2 });
    await expect(writer.deleteTuples([BOB_VIEWS_P1])).rejects.toMatchObject({ name: "FgaError" });
    expect(standIn.counts.write).toBe(2);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "unknown_outcome"]]);
  });

  it("is recorded as unknown_outcome when the signal aborts while it is in flight", async () => {
    const { writer, memory } = setUp(issuer.url);
    let release = () => {};
    standIn.inject({
      endpoint: "write",
      hold: new Promise<void>((resolve) => (release = resolve)),
      times: 1,
    });
    const controller = new AbortController();
    const deleted = writer
      .deleteTuples([BOB_VIEWS_P1], { signal: controller.signal })
      .catch((e: unknown) => e);
    await expect.poll(() => standIn.counts.write).toBe(1);
    controller.abort();
    expect(await deleted).toBe(controller.signal.reason);
    release();
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "unknown_outcome"]]);
  });

  it("is recorded as unknown_outcome through a client that is not the SDK's, whose requests are not counted", async () => {
    // An application's wrapper that calls the SDK without the writer's options: its requests go unseen.
    const sdk = standInClient(standIn, {
      credentials: { method: CredentialsMethod.ApiToken, config: { token: TOKEN } },
    });
    const client = {
      write: (body: Parameters<OpenFgaClient["write"]>[0]) => sdk.write(body),
      writeTuples: (tuples: Parameters<OpenFgaClient["writeTuples"]>[0]) => sdk.writeTuples(tuples),
      deleteTuples: (tuples: Parameters<OpenFgaClient["deleteTuples"]>[0]) => sdk.deleteTuples(tuples),
    } as unknown as OpenFgaClient;
    const { recorder, memory } = fixedRecorder();
    const writer = createAuditedTupleWriter({ client, recorder });
    standIn.inject({ endpoint: "write", reset: true, times: 1 });
    await expect(writer.deleteTuples([BOB_VIEWS_P1])).rejects.toMatchObject({ name: "FgaError" });
    expect(standIn.counts.write).toBe(1);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "unknown_outcome"]]);
  });
});
