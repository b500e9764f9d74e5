// The decision cache after a tuple write whose outcome is unknown: OpenFGA may apply the write after the
// writer gave up on it, and an answer asked in between must not be served from the cache afterwards.
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { OpenFgaClient } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckRequest, Decision } from "../../src/authz/authorizer.js";
import { AuditConfigError } from "../../src/errors/index.js";
import {
  createAuditedTupleWriter,
  createOpenFgaAuthorizer,
  type OpenFgaCacheOptions,
} from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };
const ALICE_EDITS_P2: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-2" };
const BOB_EDITS_P2: CheckRequest = { user: "user:bob", relation: "editor", object: "project:p-2" };

const allowed = (cacheHit: boolean): Decision => ({ kind: "allowed", cacheHit });
const denied = (cacheHit: boolean): Decision => ({ kind: "denied", cacheHit });

let standIn: OpenFgaStandIn;
let gate: WriteGate;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1, ALICE_EDITS_P2] });
  gate = await startWriteGate(standIn.url);
});
afterEach(async () => {
  await gate.close();
  await standIn.close();
});

/** A writer and a cached authorizer sharing one real client that talks to the stand-in through `gate`. */
function setUp(cache: OpenFgaCacheOptions) {
  const clock = { ms: 0 };
  const client = new OpenFgaClient({
    apiUrl: gate.url,
    storeId: standIn.storeId,
    authorizationModelId: standIn.modelId,
    retryParams: { maxRetry: 0, minWaitInMs: 10 },
  });
  const authorizer = createOpenFgaAuthorizer({ client, cache, now: () => clock.ms });
  const { recorder, memory } = fixedRecorder();
  const writer = createAuditedTupleWriter({ client, recorder, authorizer });
  return { authorizer, writer, memory, clock };
}

/** Revokes alice's edit right on p-1 with a write that is held at the gate, then abandoned. */
async function abandonedRevocation(writer: ReturnType<typeof setUp>["writer"]): Promise<void> {
  gate.holding = true;
  const controller = new AbortController();
  const revoked = writer.deleteTuples([ALICE_EDITS_P1], { signal: controller.signal });
  await expect.poll(() => gate.held).toBe(1);
  controller.abort();
  await expect(revoked).rejects.toBe(controller.signal.reason);
}

describe("decision cache after a write with an unknown outcome", () => {
  it.each<"all" | "object">(["all", "object"])(
    "does not serve an answer from before the write once OpenFGA applied it (invalidation %s)",
    async (invalidation) => {
      const { authorizer, writer, memory } = setUp({ ttlMs: 60_000, invalidation });
      expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));
      expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(true));

      await abandonedRevocation(writer);
      // Asked before OpenFGA applied the revocation: the old answer is the truth at this time.
      expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));
      await gate.release();
      expect(standIn.tuples()).toStrictEqual([ALICE_EDITS_P2]);

      expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(denied(false));
      const outcomes = memory.events.flatMap((event) =>
        event.detail?.$case === "tupleChange" ? event.detail.value.tuples.map((t) => t.errorReason) : [],
      );
      expect(outcomes).toStrictEqual(["unknown_outcome"]);
    },
  );

  it("caches answers about the write's objects again once unknownOutcomeHoldMs has passed", async () => {
    const { authorizer, writer, clock } = setUp({ ttlMs: 60_000, unknownOutcomeHoldMs: 5_000 });
    await abandonedRevocation(writer);
    await gate.release();
    clock.ms = 4_999;
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(denied(false));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(denied(false));
    clock.ms = 5_000;
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(denied(false));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(denied(true));
  });

  it('with invalidation "object", answers about other objects are still cached during the hold', async () => {
    const { authorizer, writer } = setUp({ ttlMs: 60_000, invalidation: "object" });
    expect(await authorizer.check(ALICE_EDITS_P2)).toStrictEqual(allowed(false));
    await abandonedRevocation(writer);
    expect(await authorizer.check(ALICE_EDITS_P2)).toStrictEqual(allowed(true));
    expect(await authorizer.check(BOB_EDITS_P2)).toStrictEqual(denied(false));
    expect(await authorizer.check(BOB_EDITS_P2)).toStrictEqual(denied(true));
    await gate.release();
  });

  it("does not store an answer asked during the hold that arrives after it", async () => {
    const { authorizer, clock } = setUp({ ttlMs: 60_000, unknownOutcomeHoldMs: 1_000 });
    authorizer.invalidate([ALICE_EDITS_P1], { unknownOutcome: true });
    standIn.inject({ endpoint: "check", latencyMs: 100, times: 1 });
    const asked = authorizer.check(ALICE_EDITS_P1);
    await expect.poll(() => standIn.counts.check).toBe(1);
    clock.ms = 1_000;
    expect(await asked).toStrictEqual(allowed(false));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(true));
  });

  it("after a write that completed, answers are cached again at once", async () => {
    const { authorizer, writer } = setUp({ ttlMs: 60_000 });
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(allowed(false));
    await writer.deleteTuples([ALICE_EDITS_P1]);
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(denied(false));
    expect(await authorizer.check(ALICE_EDITS_P1)).toStrictEqual(denied(true));
  });

  it("cancels the chunks still in flight when the SDK throws for a non-transactional write", async () => {
    standIn.inject({ endpoint: "write", status: 401, times: 1 });
    standIn.inject({ endpoint: "write", latencyMs: 600_000, times: 1 });
    const { recorder } = fixedRecorder();
    const writer = createAuditedTupleWriter({ client: standInClient(standIn), recorder });
    const written = writer.writeTuples([BOB_EDITS_P2, { ...BOB_EDITS_P2, object: "project:p-3" }], {
      transaction: { disable: true, maxPerChunk: 1, maxParallelRequests: 2 },
    });
    await expect(written).rejects.toMatchObject({ statusCode: 401 });
    // Left running, it could be applied after the writer reported the call.
    await expect.poll(() => standIn.abandoned).toBe(1);
  });

  it.each([
    ["a negative unknownOutcomeHoldMs", -1],
    ["an infinite unknownOutcomeHoldMs", Number.POSITIVE_INFINITY],
    ["a string unknownOutcomeHoldMs", "5"],
  ])("throws an AuditConfigError for %s", (_, unknownOutcomeHoldMs) => {
    const cache = { unknownOutcomeHoldMs } as OpenFgaCacheOptions;
    expect(() => createOpenFgaAuthorizer({ client: standInClient(standIn), cache })).toThrow(
      new AuditConfigError(
        "createOpenFgaAuthorizer: `cache.unknownOutcomeHoldMs` must be a number of milliseconds, 0 or more",
      ),
    );
  });
});

/**
 * A loopback HTTP hop in front of the stand-in that, while `holding`, keeps write requests until
 * `release()`, then forwards them (applied even when their client has gone, as OpenFGA may) and answers
 * whoever is still waiting. Every other request is forwarded at once.
 */
interface WriteGate {
  readonly url: string;
  holding: boolean;
  /** Write requests kept so far and not released. */
  readonly held: number;
  /** Forwards the kept writes and waits for the stand-in's answers. */
  release(): Promise<void>;
  close(): Promise<void>;
}

async function startWriteGate(target: string): Promise<WriteGate> {
  const kept: { req: IncomingMessage; body: string; res: ServerResponse }[] = [];
  async function forward(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    const answer = await fetch(`${target}${req.url ?? ""}`, {
      method: req.method ?? "GET",
      headers: { "content-type": "application/json" },
      ...(body === "" ? {} : { body }),
    });
    const text = await answer.text();
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(answer.status, { "content-type": "application/json" }).end(text);
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      if (gate.holding && (req.url ?? "").endsWith("/write")) kept.push({ req, body, res });
      else forward(req, body, res).catch(() => res.destroy());
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const gate: WriteGate = {
    url: `http://127.0.0.1:${port}`,
    holding: false,
    get held() {
      return kept.length;
    },
    async release() {
      const released = kept.splice(0);
      await Promise.all(released.map(({ req, body, res }) => forward(req, body, res)));
    },
    async close() {
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
  return gate;
}
