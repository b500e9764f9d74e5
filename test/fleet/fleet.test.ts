// Issue 16's end-to-end fleet test: three replicas of the example ProjectService (child processes, the
// whole interceptor chain, chained and signed trails, broker emitter with a write-ahead spool) under
// load into a real `nats-server -js`, two `grpc-audit ingest` processes into a real PostgreSQL. One
// ingester is SIGKILLed mid-stream, one replica's broker connection is cut for 10 s by a TCP proxy.
// Afterwards every event id each Recorder handed over is stored exactly once, nothing else is, the
// three chains verify sealed, and the CLI's stats and query agree with the replicas' counts.
import type { ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventKind } from "../../src/event/kinds.js";
import { eventTypeFromJSON } from "../../src/gen/grpcaudit/v1/event.js";
import { BUILD_TIMEOUT_MS, runCli } from "../cli/helpers.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { newSigningKey, signToken } from "../helpers/jwt.js";
import { freshStream, storedIds, until, useFleetServers } from "../ingest/fleet.js";
import { ALICE_TUPLES, runLoad, type Tokens } from "./load.js";
import { killIfRunning, type ServerReplica, startIngester, startReplica } from "./processes.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

const CHILD = "test/fleet/server-child.ts";
const KEY_ID = "fleet-key";
/** Calls per replica: half before the cut, half while the cut replica cannot reach the broker. */
const CALLS = 1200;
const CUT_MS = 10_000;

const suite = useFleetServers({ buildCli: true });
let compiled: Compiled;
let dir: string;
let proxy: TcpProxy | undefined;
const started: { child: ChildProcess }[] = [];

// Registered after useFleetServers: the replicas and the proxy are gone before it stops the servers.
beforeAll(() => {
  compiled = compile([CHILD]);
  dir = mkdtempSync(join(tmpdir(), "grpc-audit-fleet-"));
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  for (const { child } of started) killIfRunning(child);
  await proxy?.close();
  compiled?.remove();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** How many of `kinds` there are of each. */
function countKinds(kinds: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

describe("a fleet of three replicas and two ingesters", () => {
  it("stores every event exactly once through an ingester crash and a 10 s broker cut; verify, stats and query agree", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const db = await suite.postgres.createDatabase();
    const jwtKey = await newSigningKey("fleet-idp", "ES256");
    const tokens: Tokens = {
      alice: await signToken(jwtKey, { sub: "alice" }),
      bob: await signToken(jwtKey, { sub: "bob" }),
    };
    const checkpointKey = generateKeyPairSync("ed25519");
    const publicKeyFile = join(dir, "checkpoints.pub.pem");
    writeFileSync(publicKeyFile, checkpointKey.publicKey.export({ type: "spki", format: "pem" }));
    proxy = await startTcpProxy(suite.nats.port);

    const replicas: ServerReplica[] = [];
    for (const n of [0, 1, 2]) {
      const replica = await startReplica(compiled.file(CHILD), dir, `replica-${n}`, {
        // Replica 0 reaches the broker through the proxy, which will cut it off.
        natsUrl: n === 0 ? `nats://127.0.0.1:${proxy.port}` : suite.nats.url,
        stream,
        topic,
        spoolPath: join(dir, `replica-${n}.spool`),
        idsPath: join(dir, `replica-${n}.ids`),
        jwks: jwtKey.jwks,
        checkpointKeyPem: checkpointKey.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        checkpointKeyId: KEY_ID,
        tuples: ALICE_TUPLES,
      });
      started.push(replica);
      replicas.push(replica);
    }
    const doomed = startIngester(suite.nats.url, stream, db);
    const survivor = startIngester(suite.nats.url, stream, db);
    started.push(doomed, survivor);

    const load = (from: number, to: number) =>
      Promise.all(replicas.map((replica) => runLoad(replica.port, tokens, from, to)));
    const firstHalf = load(0, CALLS / 2);

    // An ingester dies while the replicas publish, with part of the stream stored.
    await until(async () => (await storedIds(db).catch(() => new Map())).size >= 1000, "a first part stored");
    const storedAtKill = (await storedIds(db)).size;
    doomed.child.kill("SIGKILL");
    expect(await doomed.exited).toStrictEqual({ code: null, signal: "SIGKILL" });
    const unexpected = (await firstHalf).flat();

    // Replica 0 loses the broker for 10 s, recording all the while.
    proxy.cut();
    const cutEnds = sleep(CUT_MS);
    unexpected.push(...(await load(CALLS / 2, CALLS)).flat());
    await cutEnds;
    const storedAtResume = await storedIds(db);
    proxy.resume();
    expect(unexpected).toStrictEqual([]);

    // Closing writes each chain's final checkpoint and drains each spool into the stream.
    const closed = await Promise.all(replicas.map((replica) => replica.close()));
    for (const { report } of closed) {
      expect(report.closed.ok).toBe(true);
      expect(report.broker.dropped).toStrictEqual({});
    }
    // The cut was felt: replica 0's publishes failed and were retried later.
    expect(closed[0]?.report.broker.retried).toBeGreaterThan(0);
    expect(proxy.accepted).toBeGreaterThan(1);
    // ... and some of its events reached the store only after the cut ended.
    const heldBack = closed[0]?.events.filter(({ id }) => !storedAtResume.has(id)) ?? [];
    expect(heldBack.length).toBeGreaterThan(0);

    const events = closed.flatMap(({ events }) => events);
    const expectedIds = new Map(events.map(({ id }) => [id, 1]));
    expect(expectedIds.size).toBe(events.length); // no id handed over twice, no id shared by replicas
    expect(storedAtKill).toBeLessThan(events.length); // the ingester died mid-stream
    await until(async () => (await storedIds(db)).size >= events.length, "every event stored");
    survivor.child.kill("SIGINT");
    expect((await survivor.exited).code).toBe(0);
    expect(await storedIds(db)).toStrictEqual(expectedIds);

    const verify = await runCli([
      "verify",
      "--db",
      db,
      "--sealed",
      "--public-key",
      `${KEY_ID}=${publicKeyFile}`,
    ]);
    expect([verify.code, verify.stderr]).toStrictEqual([0, ""]);
    expect(verify.stdout).toContain("verified: 3 chains, no findings");

    const byKind = countKinds(events.map(({ kind }) => kind));
    const stats = await runCli(["stats", "--db", db, "--json"]);
    expect(stats.code).toBe(0);
    const counted = JSON.parse(stats.stdout) as { total: number; byType: Record<string, number> };
    expect([counted.total, counted.byType]).toStrictEqual([events.length, byKind]);

    const query = await runCli(["query", "--db", db, "--all", "--json", "--limit", "1000"]);
    expect(query.code).toBe(0);
    const listed = (JSON.parse(query.stdout) as { events: { eventId: string; eventType: string }[] }).events;
    expect(new Map(listed.map((e) => [e.eventId, 1]))).toStrictEqual(expectedIds);
    expect(countKinds(listed.map((e) => eventKind(eventTypeFromJSON(e.eventType))))).toStrictEqual(byKind);
  }, 120_000);
});
