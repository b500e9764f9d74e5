// What the audited tuple writer records when the outcome of a write is partial or unknown, for large
// writes and for tuples with odd content. The OpenFGA server is a loopback stand-in (no OpenFGA server
// runs here) spoken to by the real @openfga/sdk client, at times through a small loopback HTTP proxy
// that loses or delays answers after the stand-in applied the write.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ClientWriteRequestOnDuplicateWrites,
  CredentialsMethod,
  FgaApiAuthenticationError,
  type OpenFgaClient,
} from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { createAuditedTupleWriter } from "../../src/openfga/index.js";
import { fakeBroker } from "../brokers/fake-broker.js";
import { type ProxyPlan, startOpenFgaProxy } from "../helpers/openfga-proxy.js";
import {
  type OpenFgaStandIn,
  SDK_TIMEOUT_MS,
  standInClient,
  startOpenFgaStandIn,
} from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";
import { tupleOutcomes } from "./tuple-outcomes.js";

const BOB_VIEWS_P1 = { user: "user:bob", relation: "viewer", object: "project:p-1" };
const CAROL_VIEWS_P1 = { user: "user:carol", relation: "viewer", object: "project:p-1" };
const DAVE_VIEWS_P1 = { user: "user:dave", relation: "viewer", object: "project:p-1" };
const ALICE_EDITS_P1 = { user: "user:alice", relation: "editor", object: "project:p-1" };

let standIn: OpenFgaStandIn;
let proxy: Server | undefined;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
});
afterEach(async () => {
  proxy?.closeAllConnections();
  proxy?.close();
  proxy = undefined;
  await standIn.close();
});

function writerFor(client: OpenFgaClient) {
  const { recorder, memory, errors } = fixedRecorder();
  return { writer: createAuditedTupleWriter({ client, recorder }), memory, errors };
}

/** The proxy in front of the stand-in, closed after each test; returns its URL. */
async function startProxy(plan: ProxyPlan): Promise<string> {
  const started = await startOpenFgaProxy(standIn.url, plan);
  proxy = started.server;
  return started.url;
}

describe("audited tuple writer: partial and unknown outcomes", () => {
  it("records a non-transactional write the SDK threw for as unknown, not failed: part was written", async () => {
    // The first chunk is written; the second is refused 401, and the SDK throws for the whole call.
    standIn.inject({ endpoint: "write", times: 1 });
    standIn.inject({ endpoint: "write", status: 401, times: 1 });
    const { writer, memory } = writerFor(standInClient(standIn));
    const error = await writer
      .writeTuples([BOB_VIEWS_P1, CAROL_VIEWS_P1, DAVE_VIEWS_P1], {
        transaction: { disable: true, maxParallelRequests: 1 },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FgaApiAuthenticationError);
    expect(standIn.tuples()).toContainEqual(BOB_VIEWS_P1);
    expect(tupleOutcomes(memory)).toStrictEqual([
      ["user:bob", false, "unknown_outcome"],
      ["user:carol", false, "unknown_outcome"],
      ["user:dave", false, "unknown_outcome"],
    ]);
  });

  it("records a write that timed out after OpenFGA applied it as unknown, not as failed", async () => {
    const url = await startProxy(() => "applied-then-hang");
    const client = standInClient(standIn, { apiUrl: url, baseOptions: { timeout: SDK_TIMEOUT_MS } });
    const { writer, memory } = writerFor(client);
    await expect(writer.writeTuples([BOB_VIEWS_P1])).rejects.toMatchObject({ name: "FgaError" });
    await vi.waitFor(() => expect(standIn.tuples()).toContainEqual(BOB_VIEWS_P1));
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "unknown_outcome"]]);
  });

  it("records a write a gateway answered 504 after OpenFGA applied it as unknown, not as unavailable", async () => {
    const url = await startProxy(() => "applied-then-504");
    const { writer, memory } = writerFor(standInClient(standIn, { apiUrl: url }));
    await expect(writer.deleteTuples([ALICE_EDITS_P1])).rejects.toMatchObject({ statusCode: 504 });
    expect(standIn.tuples()).toStrictEqual([]);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:alice", false, "unknown_outcome"]]);
  });

  it("records a chunk of a non-transactional write that timed out as unknown, the others as the SDK reports them", async () => {
    const url = await startProxy((n) => (n === 1 ? "applied-then-hang" : "forward"));
    const client = standInClient(standIn, { apiUrl: url, baseOptions: { timeout: SDK_TIMEOUT_MS } });
    const { writer, memory } = writerFor(client);
    await writer.writeTuples([BOB_VIEWS_P1, CAROL_VIEWS_P1], {
      transaction: { disable: true, maxParallelRequests: 1 },
    });
    await vi.waitFor(() => expect(standIn.tuples()).toHaveLength(3));
    expect(tupleOutcomes(memory)).toStrictEqual([
      ["user:bob", false, "unknown_outcome"],
      ["user:carol", true, ""],
    ]);
  });

  it("records a timed-out write the SDK retried with onDuplicateWrites 'ignore' as written, once", async () => {
    // Without "ignore", OpenFGA refuses the retry of an applied write (the tuple exists), and the
    // tuple is recorded with an unknown outcome (next test).
    const url = await startProxy((n) => (n === 1 ? "applied-then-hang" : "forward"));
    const client = standInClient(standIn, {
      apiUrl: url,
      baseOptions: { timeout: SDK_TIMEOUT_MS },
      retryParams: { maxRetry: 1, minWaitInMs: 1 },
    });
    const { writer, memory } = writerFor(client);
    await writer.writeTuples([BOB_VIEWS_P1], {
      conflict: { onDuplicateWrites: ClientWriteRequestOnDuplicateWrites.Ignore },
    });
    await vi.waitFor(() => expect(standIn.counts.write).toBe(2));
    expect(memory.events).toHaveLength(1);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", true, ""]]);
  });

  it("records a timed-out write whose retry OpenFGA refused as a duplicate as unknown: the first attempt wrote it", async () => {
    const url = await startProxy((n) => (n === 1 ? "applied-then-hang" : "forward"));
    const client = standInClient(standIn, {
      apiUrl: url,
      baseOptions: { timeout: SDK_TIMEOUT_MS },
      retryParams: { maxRetry: 1, minWaitInMs: 1 },
    });
    const { writer, memory } = writerFor(client);
    await expect(writer.writeTuples([BOB_VIEWS_P1])).rejects.toMatchObject({ statusCode: 400 });
    expect(standIn.tuples()).toContainEqual(BOB_VIEWS_P1);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", false, "unknown_outcome"]]);
  });

  it("records one successful event when the SDK waited out a 429's Retry-After and retried", async () => {
    const url = await startProxy((n) => (n === 1 ? { status: 429, retryAfter: "1" } : "forward"));
    const client = standInClient(standIn, { apiUrl: url, retryParams: { maxRetry: 2, minWaitInMs: 1 } });
    const { writer, memory } = writerFor(client);
    await writer.deleteTuples([ALICE_EDITS_P1]);
    expect(standIn.counts.write).toBe(1);
    expect(memory.events).toHaveLength(1);
    expect(tupleOutcomes(memory)).toStrictEqual([["user:alice", true, ""]]);
  });
});

describe("audited tuple writer: conditional tuples", () => {
  it("records each conditional tuple once with its own outcome and condition, never its context's values", async () => {
    const condition = { name: "in_region", context: { region: "eu-secret-region" } };
    const { writer, memory } = writerFor(standInClient(standIn));
    const response = await writer.write(
      {
        writes: [
          { ...BOB_VIEWS_P1, condition },
          { ...ALICE_EDITS_P1, condition },
        ],
        deletes: [{ ...CAROL_VIEWS_P1 }],
      },
      { transaction: { disable: true, maxParallelRequests: 2 } },
    );
    expect(response.writes.map((w) => w.status)).toStrictEqual(["success", "failure"]);
    expect(standIn.tuples()).toStrictEqual([ALICE_EDITS_P1, { ...BOB_VIEWS_P1, condition }]);
    expect(tupleOutcomes(memory)).toStrictEqual([
      ["user:bob", true, ""],
      ["user:alice", false, "write_failed_due_to_invalid_input"],
      ["user:carol", false, "write_failed_due_to_invalid_input"],
    ]);
    const [event] = memory.events;
    expect(
      event?.detail?.$case === "tupleChange" && event.detail.value.tuples.map((t) => t.condition),
    ).toStrictEqual([
      { name: "in_region", contextKeys: ["region"] },
      { name: "in_region", contextKeys: ["region"] },
      undefined,
    ]);
    expect(JSON.stringify(memory.events)).not.toContain("eu-secret-region");
  });
});

describe("audited tuple writer: large writes and odd content", () => {
  // The smallest limit a sink sets: a Kafka message (1 MB) holding the event as JSON.
  const jsonKafkaLimit =
    createBrokerSink({ broker: fakeBroker({ maxMessageBytes: 1_000_000 }), topic: "audit", encoding: "json" })
      .maxEventBytes ?? 0;

  it("splits a write of many tuples into events every sink can take, recording every tuple once", async () => {
    // Ids at the recorder's 256-byte field limit, in characters that cost the most as JSON.
    const long = (i: number) => `${String(i).padStart(4, "0")}${"\u0001".repeat(400)}`;
    const tuples = Array.from({ length: 120 }, (_, i) => ({
      user: `user:${long(i)}`,
      relation: "viewer",
      object: `project:${long(i)}`,
    }));
    const { writer, memory } = writerFor(standInClient(standIn));
    await writer.writeTuples(tuples, { transaction: { disable: true, maxPerChunk: 100 } });
    expect(jsonKafkaLimit).toBeGreaterThan(0);
    expect(
      memory.events.map((e) => e.detail?.$case === "tupleChange" && e.detail.value.tuples.length),
    ).toEqual([50, 50, 20]);
    for (const event of memory.events) expect(encodeEvent(event).length).toBeLessThan(jsonKafkaLimit);
    const recorded = tupleOutcomes(memory);
    expect(recorded).toHaveLength(120);
    expect(recorded.every(([, success]) => success)).toBe(true);
    expect(new Set(recorded.map(([user]) => user.slice(5, 9)))).toHaveLength(120);
  });

  it("records wildcards, usersets and unicode as given, and cuts a very long id to its limit", async () => {
    const long = `project:${"é".repeat(1000)}`;
    const odd = [
      { user: "user:*", relation: "viewer", object: "project:p-1" },
      { user: "group:eng#member", relation: "viewer", object: "project:p-1" },
      { user: "user:Zoë-😀", relation: "viewer", object: "project:日本" },
      { user: "user:bob", relation: "viewer", object: long },
    ];
    const { writer, memory } = writerFor(standInClient(standIn));
    await writer.writeTuples(odd);
    expect(standIn.tuples()).toEqual(expect.arrayContaining(odd));
    const [event] = memory.events;
    expect(event?.detail?.$case === "tupleChange" && event.detail.value.tuples.map((t) => t.object)).toEqual([
      "project:p-1",
      "project:p-1",
      "project:日本",
      `project:${"é".repeat(124)}…[truncated 1752 bytes]`,
    ]);
    expect(tupleOutcomes(memory)).toStrictEqual([
      ["user:*", true, ""],
      ["group:eng#member", true, ""],
      ["user:Zoë-😀", true, ""],
      ["user:bob", true, ""],
    ]);
  });
});

describe("audited tuple writer: credentials", () => {
  it("never puts the client secret or the issued token into an event or a reported error", async () => {
    const secret = "client-secret-7c1d0e";
    const token = "issued-access-token-51aa";
    let issuerUp = true;
    // A loopback token issuer: it issues `token` while up, then refuses and echoes the request.
    const issuer = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on("data", (chunk: Buffer) => body.push(chunk));
      req.on("end", () => {
        res.writeHead(issuerUp ? 200 : 401, { "content-type": "application/json" });
        res.end(
          JSON.stringify(
            issuerUp
              ? { access_token: token, expires_in: 1 }
              : { code: "invalid_client", message: `bad ${Buffer.concat(body).toString()}` },
          ),
        );
      });
    });
    issuer.listen(0, "127.0.0.1");
    await once(issuer, "listening");
    try {
      await standIn.close();
      standIn = await startOpenFgaStandIn({ token, tuples: [ALICE_EDITS_P1] });
      const credentials = (port: number) =>
        ({
          method: CredentialsMethod.ClientCredentials,
          config: {
            apiTokenIssuer: `http://127.0.0.1:${port}`,
            apiAudience: "https://fga.example/",
            clientId: "client-1",
            clientSecret: secret,
          },
        }) as const;
      const { port } = issuer.address() as AddressInfo;
      const { writer, memory, errors } = writerFor(
        standInClient(standIn, { credentials: credentials(port) }),
      );
      await writer.writeTuples([BOB_VIEWS_P1]);
      await expect(writer.writeTuples([BOB_VIEWS_P1])).rejects.toMatchObject({ statusCode: 400 });
      issuerUp = false;
      const refused = writerFor(standInClient(standIn, { credentials: credentials(port) }));
      const error = await refused.writer.deleteTuples([BOB_VIEWS_P1]).catch((e: unknown) => e);
      // The SDK's own error, passed through unchanged, is where a secret could be.
      expect(error).toBeInstanceOf(FgaApiAuthenticationError);
      expect(standIn.requests.map((r) => r.authorization)).toStrictEqual([
        `Bearer ${token}`,
        `Bearer ${token}`,
      ]);
      expect([...tupleOutcomes(memory), ...tupleOutcomes(refused.memory)]).toStrictEqual([
        ["user:bob", true, ""],
        ["user:bob", false, "write_failed_due_to_invalid_input"],
        ["user:bob", false, "invalid_client"],
      ]);
      const recorded = JSON.stringify([memory.events, refused.memory.events, errors, refused.errors]);
      for (const leak of [secret, token, "client_secret", "Bearer"]) expect(recorded).not.toContain(leak);
    } finally {
      issuer.closeAllConnections();
      issuer.close();
    }
  });
});
