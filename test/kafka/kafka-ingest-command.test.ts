// The `ingest` command with --from kafka://, run in this process with `@platformatic/kafka`'s Consumer
// and Producer replaced by the fake cluster (the client boundary): it opens the source with the flags
// given, stores every event in the SQLite file, prints the progress line, and on SIGTERM finishes,
// commits and returns (the command's exit 0).
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { addIngestCommand } from "../../src/cli/commands/ingest.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { openAuditStore } from "../../src/store/index.js";
import { seedEvents, tempDir } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import type { FakeKafka } from "./fake-kafka.js";

const cluster = vi.hoisted(() => ({ kafka: undefined as FakeKafka | undefined }));
vi.mock("@platformatic/kafka", async (importOriginal) => {
  const original = await importOriginal<typeof import("@platformatic/kafka")>();
  const fake = () => {
    if (cluster.kafka === undefined) throw new Error("no fake cluster");
    return cluster.kafka;
  };
  return {
    ...original,
    Consumer: class {
      constructor(options: Parameters<FakeKafka["createConsumer"]>[0]) {
        // biome-ignore lint/correctness/noConstructorReturn: the fake stands in for the client's object
        return fake().createConsumer(options);
      }
    },
    Producer: class {
      constructor(options: Parameters<FakeKafka["createProducer"]>[0]) {
        // biome-ignore lint/correctness/noConstructorReturn: the fake stands in for the client's object
        return fake().createProducer(options);
      }
    },
  };
});
const { fakeKafka } = await import("./fake-kafka.js");

afterEach(() => {
  vi.restoreAllMocks();
});

describe("grpc-audit ingest --from kafka:// (in-process, fake cluster)", () => {
  it("stores every event, prints progress, and on SIGTERM finishes, commits and returns", async () => {
    const kafka = fakeKafka("audit-events", 3);
    cluster.kafka = kafka;
    const events = seedEvents(120);
    const broker = createKafkaBroker({ bootstrapBrokers: ["k1:9092"], clientId: "api" });
    await createBrokerSink({ broker, topic: "audit-events" }).write(events);
    await broker.close();
    kafka.append(1, "hello", { "content-type": "text/plain" });

    const stderr: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      stderr.push(String(chunk));
      return true;
    });
    const db = join(tempDir(), "kafka.db");
    const before = new Set(process.listeners("SIGTERM"));
    const program = new Command().exitOverride();
    addIngestCommand(program);
    const args = [
      "ingest",
      "--from",
      "kafka://k1:9092,k2:9093",
      "--topic",
      "audit-events",
      "--group",
      "ingest",
    ];
    const running = program.parseAsync([...args, "--to", db, "--progress-ms", "100"], { from: "user" });
    await until(() => stderr.some((line) => line.includes("120 inserted")), "every event inserted");
    const sigterm = process.listeners("SIGTERM").filter((listener) => !before.has(listener));
    expect(sigterm).toHaveLength(1);
    sigterm[0]?.("SIGTERM");
    await running;

    expect(kafka.consumerOptions).toMatchObject([
      { bootstrapBrokers: ["k1:9092", "k2:9093"], groupId: "ingest", clientId: "grpc-audit-ingest" },
    ]);
    expect(kafka.committed()).toStrictEqual(kafka.highWatermarks());
    expect(kafka.produced.map((m) => m.topic)).toStrictEqual(["audit-events.dead-letter"]);
    expect(stderr[0]).toBe(`ingesting from kafka audit-events/ingest into ${db} (Ctrl-C to stop)\n`);
    expect(stderr.at(-2)).toMatch(
      /^ingest: 121 received \(\d+\/s\), 120 inserted \(\d+\/s\), 0 duplicates, 1 dead-lettered, 0 lost, \d+ batches, 0 errors, lag (0|unknown)\n$/,
    );
    expect(stderr.at(-1)).toBe("ingest: stopped\n");
    expect(process.listeners("SIGTERM").filter((listener) => !before.has(listener))).toStrictEqual([]);
    const store = openAuditStore({ path: db });
    expect(new Set(store.query({}, { limit: 1000 }).events.map((e) => e.eventId))).toStrictEqual(
      new Set(events.map((e) => e.eventId)),
    );
    store.close();
  });
});
