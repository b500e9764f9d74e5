// `grpc-audit ingest` as a child process, from a real `nats-server -js` into a real PostgreSQL (and a
// SQLite file): the progress line, a graceful stop on SIGINT (exit 0), two ingesters of which one is
// SIGKILLed mid-stream losing and duplicating nothing, chains that verify, and precise usage errors.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DiscardPolicy, jetstreamManager } from "@nats-io/jetstream";
import { beforeAll, describe, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createNatsSource } from "../../src/nats/index.js";
import { openAuditStore } from "../../src/store/index.js";
import { runCli, tempDir } from "../cli/helpers.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";
import {
  freshStream,
  publicKeyArgument,
  publishTrail,
  startIngest,
  storedIds,
  until,
  useFleetServers,
} from "./fleet.js";

const suite = useFleetServers({ buildCli: true });
let publicKey: string;

beforeAll(() => {
  publicKey = publicKeyArgument();
});

const onceEach = (events: readonly AuditEvent[]) => new Map(events.map((e) => [e.eventId, 1]));

describe("grpc-audit ingest", () => {
  it("stores every event, prints progress, stops on SIGINT with exit 0; verify, query and stats agree", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const events = (
      await Promise.all([
        publishTrail(suite.nats.url, topic, 150),
        publishTrail(suite.nats.url, topic, 100, "json"),
      ])
    ).flat();
    const run = startIngest(suite.nats.url, stream, url);
    await until(
      async () => (await storedIds(url).catch(() => new Map())).size === events.length,
      "every event stored",
    );
    await until(() => run.out.stderr.includes(`${events.length} inserted`), "the progress line");
    run.child.kill("SIGINT");
    expect(await run.exited).toStrictEqual({ code: 0, signal: null });
    expect(run.out.stdout).toBe("");
    expect(run.out.stderr).toMatch(
      new RegExp(
        `^ingesting from nats ${stream}/ingest into postgres://postgres@127\\.0\\.0\\.1:\\d+/test_\\d+ \\(Ctrl-C to stop\\)\\n`,
      ),
    );
    expect(run.out.stderr).toMatch(
      new RegExp(
        `\\ningest: ${events.length} received \\(\\d+/s\\), ${events.length} inserted \\(\\d+/s\\), 0 duplicates, 0 dead-lettered, 0 lost, \\d+ batches, 0 errors, lag 0\\ningest: stopped\\n$`,
      ),
    );
    expect(await storedIds(url)).toStrictEqual(onceEach(events));
    const verify = await runCli(["verify", "--db", url, "--public-key", publicKey, "--sealed"]);
    expect([verify.code, verify.stderr]).toStrictEqual([0, ""]);
    expect(verify.stdout).toContain("verified: 2 chains, no findings");
    const stats = await runCli(["stats", "--db", url, "--json"]);
    expect(JSON.parse(stats.stdout).total).toBe(events.length);
    const query = await runCli(["query", "--db", url, "--ndjson", "--all", "--limit", "100"]);
    expect(query.stdout.trimEnd().split("\n")).toHaveLength(events.length);
  });

  it("two ingesters share the stream; one SIGKILLed mid-stream loses and duplicates nothing", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const events = (await Promise.all([1, 2, 3].map(() => publishTrail(suite.nats.url, topic, 1500)))).flat();
    const options = ["--batch-size", "100", "--ack-wait-ms", "2000"];
    const doomed = startIngest(suite.nats.url, stream, url, ...options);
    const survivor = startIngest(suite.nats.url, stream, url, ...options);
    await until(async () => (await storedIds(url).catch(() => new Map())).size >= 300, "a first part stored");
    doomed.child.kill("SIGKILL");
    expect(await doomed.exited).toStrictEqual({ code: null, signal: "SIGKILL" });
    // A fourth trail, published only now: the kill comes mid-stream whenever it comes (the two
    // ingesters store the first three trails about 2 s after the first 300 events, and a loaded
    // machine's test can be that late between its poll and the kill).
    events.push(...(await publishTrail(suite.nats.url, topic, 100)));
    await until(async () => (await storedIds(url)).size === events.length, "every event stored");
    survivor.child.kill("SIGTERM");
    expect((await survivor.exited).code).toBe(0);
    expect(await storedIds(url)).toStrictEqual(onceEach(events));
    const verify = await runCli(["verify", "--db", url, "--public-key", publicKey, "--sealed"]);
    expect([verify.code, verify.stdout]).toStrictEqual([
      0,
      expect.stringContaining("verified: 4 chains, no findings"),
    ]);
  }, 60_000);

  it("SIGTERM while it is still connecting to NATS closes what it opened and exits 0", async () => {
    const { stream } = await freshStream(suite.nc);
    const db = join(tempDir(), "startup.db");
    // A store made before: opening it again makes its write-ahead log at once (a new one's comes with
    // its first write), the sign below that the command opened it.
    openAuditStore({ path: db }).close();
    const proxy = await startSilentProxy(suite.nats.port, true); // NATS's greeting held: connecting
    const run = startIngest(`nats://127.0.0.1:${proxy.port}`, stream, db);
    try {
      await until(() => proxy.accepted > 0, "the command connecting to NATS (the store opened)");
      expect(existsSync(`${db}-wal`)).toBe(true);
      run.child.kill("SIGTERM");
      proxy.thaw(); // the connection is made, then closed
      expect([await run.exited, run.out.stderr]).toStrictEqual([
        { code: 0, signal: null },
        "ingest: stopped before ingesting\n",
      ]);
      // SQLite removes the write-ahead log when the store is closed, not when the process is killed.
      expect(existsSync(`${db}-wal`)).toBe(false);
    } finally {
      run.child.kill("SIGKILL");
      await proxy.close();
    }
  });

  it("names a stream that deletes events not yet stored, then prints and counts those it deleted", async () => {
    const stream = `CLI_LOST_${process.pid}`;
    const jsm = await jetstreamManager(suite.nc);
    await jsm.streams.add({ name: stream, subjects: ["clilost.>"], discard: DiscardPolicy.Old, max_msgs: 5 });
    // The consumer an earlier run made: the events come while no ingester runs.
    await createNatsSource({ connection: suite.nc, stream, consumer: "ingest" });
    const events = await publishTrail(suite.nats.url, "clilost.events", 20);
    const lost = events.length - 5;
    const db = join(tempDir(), "lost.db");
    const run = startIngest(suite.nats.url, stream, db);
    await until(() => run.out.stderr.includes(`${lost} lost`), "the lost messages counted");
    run.child.kill("SIGTERM");
    expect((await run.exited).code).toBe(0);
    expect(run.out.stderr).toContain(
      `(Ctrl-C to stop)\ningest: warning: stream "${stream}" deletes its oldest messages at 5 messages ` +
        "(max_msgs) (discard old) whether ingested or not: those removed before ingest stored them are " +
        "lost, and counted as lost; use discard new, so that a full stream refuses new events instead\n",
    );
    expect(run.out.stderr).toContain(
      `\ningest: error: nats ${stream}/ingest: ${lost} messages were removed by the broker before ingest ` +
        "stored them (retention limits or deletions): their events are lost\n",
    );
    expect(run.out.stderr).toMatch(
      new RegExp(
        `\\ningest: 5 received \\(\\d+/s\\), 5 inserted \\(\\d+/s\\), 0 duplicates, 0 dead-lettered, ${lost} lost, \\d+ batches, 0 errors, lag 0\\ningest: stopped\\n$`,
      ),
    );
  });

  it("ingests into a SQLite file, which query then reads", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const events = await publishTrail(suite.nats.url, topic, 20);
    const db = join(tempDir(), "fleet.db");
    const run = startIngest(suite.nats.url, stream, db);
    await until(() => run.out.stderr.includes(`${events.length} inserted`), "every event stored");
    run.child.kill("SIGTERM");
    expect((await run.exited).code).toBe(0);
    const stats = await runCli(["stats", "--db", db, "--json"]);
    expect(JSON.parse(stats.stdout).total).toBe(events.length);
  });

  it.each([
    [["--stream", "S", "--consumer", "C", "--to", "x.db"], /required option '--from <url>' not specified/],
    [
      ["--from", "nats://n:4222", "--consumer", "C", "--to", "x.db"],
      /option '--stream <name>' is required with nats:\/\//,
    ],
    [
      ["--from", "nats://n:4222", "--stream", "S", "--consumer", "C", "--topic", "t", "--to", "x.db"],
      /option '--topic <name>' is not for nats:\/\//,
    ],
    [
      ["--from", "http://n:4222", "--stream", "S", "--consumer", "C", "--to", "x.db"],
      /option '--from <url>' must be nats:\/\/host:port/,
    ],
    [
      ["--from", "nats://n:4222", "--stream", "S", "--consumer", "C", "--to", "x.db", "--batch-size", "0"],
      /option '--batch-size <n>' argument '0' is invalid\. Use an integer from 1 to 10000\./,
    ],
    [
      [
        "--from",
        "nats://n:4222",
        "--stream",
        "S",
        "--consumer",
        "C",
        "--to",
        "x.db",
        "--ack-wait-ms",
        "1000",
      ],
      /option '--ack-wait-ms <ms>' argument '1000' is invalid\. Use an integer from 2000 to 3600000\./,
    ],
    [
      ["--from", "kafka://k:9092", "--topic", "t", "--group", "g", "--to", "x.db", "--ack-wait-ms", "5000"],
      /option '--ack-wait-ms <ms>' is not for kafka:\/\//,
    ],
    [
      [
        "--from",
        "nats://n:4222",
        "--stream",
        "S",
        "--consumer",
        "C",
        "--to",
        "x.db",
        "--query-timeout-ms",
        "5000",
      ],
      /option '--query-timeout-ms <ms>' is for a postgres:\/\/ --to only/,
    ],
  ])("usage error, exit 2: %j", async (args, message) => {
    const run = await runCli(["ingest", ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it("a stream that does not exist is exit 1, naming it", async () => {
    const run = await runCli([
      "ingest",
      "--from",
      suite.nats.url,
      "--stream",
      "NOPE",
      "--consumer",
      "C",
      "--to",
      await suite.postgres.createDatabase(),
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: nats:\/\/127\.0\.0\.1:\d+: nats NOPE\/C: open failed: stream not found/i,
    );
  });

  it("--domain goes to the source: a domain no JetStream answers for is exit 1, naming it", async () => {
    const { stream } = await freshStream(suite.nc);
    const args = ["ingest", "--from", suite.nats.url, "--stream", stream, "--consumer", "C"];
    const run = await runCli([...args, "--domain", "nowhere", "--to", await suite.postgres.createDatabase()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^error: nats://127\\.0\\.0\\.1:\\d+: nats ${stream}/C: no JetStream answers for domain "nowhere"`,
      ),
    );
  });

  it("--domain that is not a domain name is a usage error, exit 2", async () => {
    const args = [
      "ingest",
      "--from",
      suite.nats.url,
      "--stream",
      "S",
      "--consumer",
      "C",
      "--domain",
      "hub.eu",
    ];
    const run = await runCli([...args, "--to", await suite.postgres.createDatabase()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/`domain` must be a JetStream domain name .*got "hub\.eu"/);
  });
});
