// `grpc-audit ingest` while PostgreSQL is unreachable (the path to it cut, as a restart or a
// network failure looks): errors are printed and retried, SIGTERM during the outage exits 0 while it
// lasts, and once PostgreSQL is back another ingester stores every event exactly once; the
// chains verify. The same while NATS is down, or while the path to it is cut silently (no reset).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/helpers.js";
import { startTcpProxy, type TcpProxy } from "../fleet/tcp-proxy.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";
import {
  freshStream,
  natsConnection,
  publicKeyArgument,
  publishTrail,
  startIngest,
  storedIds,
  until,
  useFleetServers,
} from "./fleet.js";

/** Small batches and a short ack wait: an outage catches batches in flight, redelivered soon after. */
const OUTAGE_FLAGS = ["--batch-size", "50", "--ack-wait-ms", "2000"];

const suite = useFleetServers({ buildCli: true });
let proxy: TcpProxy;
let publicKey: string;

// Registered after useFleetServers: these run after its start, and before it stops the servers.
beforeAll(async () => {
  proxy = await startTcpProxy(suite.postgres.port);
  publicKey = publicKeyArgument();
});
afterAll(async () => {
  await proxy?.close();
});

describe("grpc-audit ingest through a PostgreSQL outage", () => {
  it("retries, stops on SIGTERM with exit 0 during the outage, and loses nothing", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const proxied = url.replace(`:${suite.postgres.port}/`, `:${proxy.port}/`);
    const first = await publishTrail(suite.nats.url, topic, 300);
    const run = startIngest(suite.nats.url, stream, proxied, ...OUTAGE_FLAGS);
    await until(
      async () => (await storedIds(url).catch(() => new Map())).size === first.length,
      "first trail",
    );
    proxy.cut();
    const second = await publishTrail(suite.nats.url, topic, 300);
    await until(() => run.out.stderr.includes("ingest: error:"), "an error printed");
    // The path stays cut until it exits: a stop that waited for PostgreSQL would never end.
    run.child.kill("SIGTERM");
    const exit = await run.exited;
    expect(exit).toStrictEqual({ code: 0, signal: null });
    expect(run.out.stderr).toMatch(/\ningest: stopped\n$/);
    proxy.resume();
    const again = startIngest(suite.nats.url, stream, proxied, ...OUTAGE_FLAGS);
    const all = [...first, ...second];
    await until(async () => (await storedIds(url)).size === all.length, "every event stored");
    again.child.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
    expect(await storedIds(url)).toStrictEqual(new Map(all.map((e) => [e.eventId, 1])));
    const verify = await runCli(["verify", "--db", url, "--public-key", publicKey, "--sealed"]);
    expect([verify.code, verify.stderr]).toStrictEqual([0, ""]);
    expect(verify.stdout).toContain("verified: 2 chains, no findings");
  }, 90_000);
});

describe("grpc-audit ingest through a NATS outage", () => {
  it("prints errors naming the source while NATS is down; SIGTERM then (everything stored and acked) exits 0 while it is down", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const url = await suite.postgres.createDatabase();
    const events = await publishTrail(suite.nats.url, topic, 100);
    const run = startIngest(suite.nats.url, stream, url, ...OUTAGE_FLAGS);
    await until(
      async () => (await storedIds(url).catch(() => new Map())).size === events.length,
      "the trail",
    );
    await until(() => run.out.stderr.includes(`${events.length} inserted`), "the progress line");
    await suite.nats.kill();
    const before = run.out.stderr.length;
    try {
      // The fetch in progress when the connection dropped, and those after, meet the outage.
      await until(
        () => /\ningest: error: nats AUDIT_\w+\/ingest: /.test(run.out.stderr.slice(before)),
        "an error line",
      );
      // NATS stays down until it exits: a stop that waited for NATS would never end.
      run.child.kill("SIGTERM");
      expect([await run.exited, run.out.stderr.split("\n").slice(-3)]).toStrictEqual([
        { code: 0, signal: null },
        [expect.stringMatching(/^ingest: \d+ received/), "ingest: stopped", ""],
      ]);
    } finally {
      run.child.kill("SIGKILL");
      await suite.nats.restart();
    }
    expect(await storedIds(url)).toStrictEqual(new Map(events.map((e) => [e.eventId, 1])));
  }, 90_000);
});

describe("grpc-audit ingest through a silent cut of the path to NATS (no TCP reset)", () => {
  it("prints errors naming the source, SIGTERM during the cut exits 0, and nothing is lost", async () => {
    // Its own connection: the shared one may still be reconnecting after the NATS outage test.
    const own = await natsConnection(suite.nats.url);
    const { stream, topic } = await freshStream(own).finally(() => own.close());
    const url = await suite.postgres.createDatabase();
    const events = await publishTrail(suite.nats.url, topic, 3000);
    const proxy = await startSilentProxy(suite.nats.port);
    const run = startIngest(`nats://127.0.0.1:${proxy.port}`, stream, url, ...OUTAGE_FLAGS);
    try {
      await until(async () => (await storedIds(url).catch(() => new Map())).size >= 200, "a first part");
      proxy.freeze(); // mid-stream: a batch's acks and the fetch ahead wait for a reply that never comes
      const before = run.out.stderr.length;
      await until(
        () => /\ningest: error: nats AUDIT_\w+\/ingest: /.test(run.out.stderr.slice(before)),
        "an error line",
      );
      // The path stays silent until it exits: a stop that waited on the silent server would never end.
      run.child.kill("SIGTERM");
      expect([await run.exited, run.out.stderr.split("\n").slice(-3)]).toStrictEqual([
        { code: 0, signal: null },
        [expect.stringMatching(/^ingest: \d+ received/), "ingest: stopped", ""],
      ]);
    } finally {
      run.child.kill("SIGKILL");
      await proxy.close();
    }
    const again = startIngest(suite.nats.url, stream, url, ...OUTAGE_FLAGS);
    await until(async () => (await storedIds(url)).size === events.length, "every event stored");
    again.child.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
    expect(await storedIds(url)).toStrictEqual(new Map(events.map((e) => [e.eventId, 1])));
  }, 120_000);
});
