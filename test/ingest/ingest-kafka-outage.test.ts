/**
 * `grpc-audit ingest --from kafka://…` as a child process when Kafka goes away or a member died:
 * SIGTERM during an outage exits 0 with what was committed stored, and an ingester restarted right
 * after a `kill -9` joins once the dead member's session times out. Against the loopback stand-in
 * that speaks the Kafka wire protocol (test/kafka/wire-broker/: no Kafka broker can run here), which
 * drops a member silent for its session timeout, as Kafka does.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/index.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, seedEvents, startCli, tempDir } from "../cli/helpers.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";
import { startWireBroker, type WireBroker } from "../kafka/wire-broker/index.js";
import { publishToWire } from "../kafka/wire-publish.js";
import { until } from "./fleet.js";

const TOPIC = "audit-events";
let kafka: WireBroker;
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);
beforeEach(async () => {
  kafka = await startWireBroker();
  kafka.createTopic(TOPIC, { partitions: 2 });
});
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children) child.kill("SIGKILL"); // those a failed test left running
  children.length = 0;
  await kafka.close();
});

/** Starts ingest of TOPIC from `broker` into `db`, group "ingest", with progress lines every 100 ms. */
function startKafkaIngest(broker: string, db: string) {
  const child = startCli(
    ["ingest", "--from", `kafka://${broker}`, "--topic", TOPIC, "--group", "ingest", "--to", db].concat([
      "--progress-ms",
      "100",
    ]),
  );
  children.push(child);
  const out = { stderr: "" };
  child.stderr.on("data", (chunk: Buffer) => {
    out.stderr += chunk.toString();
  });
  const exited = once(child, "close").then(([code]) => code as number | null);
  return { child, out, exited };
}

const storedCount = (db: string) => {
  const store = openAuditStore({ path: db, readonly: true });
  try {
    return store.query({}, { limit: 1000 }).events.length;
  } finally {
    store.close();
  }
};

it.each(["stopped", "silent"])(
  "SIGTERM while the broker is %s: exit 0, with what was committed stored",
  async (how) => {
    // Every connection goes through the proxy (Metadata advertises it): it can go silent.
    const proxy = await startSilentProxy(kafka.state.port);
    kafka.state.port = proxy.port;
    try {
      await publishToWire(kafka, TOPIC, seedEvents(50));
      const db = join(tempDir(), "audit.db");
      const run = startKafkaIngest(`127.0.0.1:${proxy.port}`, db);
      const committed = () =>
        [...kafka.committed("ingest", TOPIC).values()].reduce((n, c) => n + c.offset, 0n);
      // Lag 0 is read back after the commits, on the connection that carried them: their answers
      // came, and no commit is left waiting on the path about to go silent.
      await until(() => committed() === 50n && /, lag 0\n$/.test(run.out.stderr), "the 50 events committed");
      if (how === "stopped") await kafka.stop();
      else proxy.freeze();
      run.child.kill("SIGTERM");
      let code: number | null | undefined;
      void run.exited.then((c) => {
        code = c;
      });
      await until(() => code !== undefined, "ingest to exit");
      expect(run.out.stderr).toContain("ingest: stopped\n");
      expect(run.out.stderr).not.toMatch(/^error:/m);
      // The group it could not leave is said once, as a warning.
      expect(run.out.stderr).toMatch(
        /^ingest: warning: leaving group "ingest" on topic "[^"]+" failed: .*\n/m,
      );
      expect(code).toBe(0);
      expect(storedCount(db)).toBe(50);
    } finally {
      await proxy.close();
    }
  },
  60_000,
);

it("restarted right after a kill -9, ingest joins once the dead member's session times out", async () => {
  await publishToWire(kafka, TOPIC, seedEvents(20));
  const db = join(tempDir(), "audit.db");
  const [broker = ""] = kafka.bootstrapBrokers;
  const killed = startKafkaIngest(broker, db);
  await until(() => / 20 inserted /.test(killed.out.stderr), "the first 20 events inserted");
  killed.child.kill("SIGKILL");
  await killed.exited;
  const run = startKafkaIngest(broker, db);
  await publishToWire(kafka, TOPIC, seedEvents(40).slice(20));
  let code: number | null | undefined;
  void run.exited.then((c) => {
    code = c;
  });
  await until(() => code !== undefined || storedCount(db) === 40, "the next 20 events stored");
  expect(code).toBeUndefined();
  run.child.kill("SIGTERM");
  expect(await run.exited).toBe(0);
  expect(storedCount(db)).toBe(40);
}, 60_000);
