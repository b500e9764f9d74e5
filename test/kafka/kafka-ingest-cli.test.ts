// `grpc-audit ingest --from kafka://…` as a child process: what it refuses before it opens anything
// (exit 2, naming the option). Ingesting itself is tested on the fake cluster (kafka-source.test.ts)
// and against a real cluster with KAFKA_BROKERS (kafka-source.integration.test.ts).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { kafkaBrokers } from "../../src/cli/ingest-source.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "../cli/helpers.js";

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

describe("grpc-audit ingest --from kafka://", () => {
  it.each([
    [
      ["--from", "kafka://", "--topic", "t", "--group", "g"],
      /option '--from <url>' must be kafka:\/\/host:port/,
    ],
    [
      ["--from", "kafka://k1:9092/audit", "--topic", "t", "--group", "g"],
      /must be kafka:\/\/host:port .*got kafka:\/\/k1:9092\/audit/,
    ],
    [
      ["--from", "kafka://user@k1:9092", "--topic", "t", "--group", "g"],
      /option '--from <url>' must not hold credentials/,
    ],
    [
      ["--from", "kafka://k1:99999", "--topic", "t", "--group", "g"],
      /option '--from <url>' must be kafka:\/\/host:port/,
    ],
    [
      ["--from", "kafka://k1:9092,", "--topic", "t", "--group", "g"],
      /option '--from <url>' must be kafka:\/\/host:port/,
    ],
    [["--from", "kafka://k1:9092", "--group", "g"], /option '--topic <name>' is required with kafka:\/\//],
    [["--from", "kafka://k1:9092", "--topic", "t"], /option '--group <id>' is required with kafka:\/\//],
    [
      ["--from", "kafka://k1:9092", "--topic", "t", "--group", "g", "--stream", "S"],
      /option '--stream <name>' is not for kafka:\/\//,
    ],
    [
      ["--from", "kafka://k1:9092", "--topic", "t", "--group", "g", "--dead-letter-subject", "x"],
      /option '--dead-letter-subject <subject>' is not for kafka:\/\//,
    ],
    [
      ["--from", "kafka://k1:9092", "--topic", "t", "--group", "g", "--domain", "hub"],
      /option '--domain <name>' is not for kafka:\/\//,
    ],
    [
      ["--from", "kafka://k1:9092", "--topic", "audit events", "--group", "g"],
      /^error: option '--topic <name>' must be a Kafka topic name .*, got "audit events"\n$/,
    ],
    [
      ["--from", "kafka://k1:9092", "--topic", "t", "--group", " "],
      /^error: option '--group <id>' must be a non-empty string\n$/,
    ],
    [
      ["--from", "kafka://k1:9092", "--topic", "t", "--group", "g", "--dead-letter-topic", "dead letters"],
      /^error: option '--dead-letter-topic <name>' must be a Kafka topic name .*, got "dead letters"\n$/,
    ],
    [
      ["--from", "kafka://k1:9092", "--topic", "t", "--group", "g", "--dead-letter-topic", "t"],
      /^error: option '--dead-letter-topic <name>' must differ from --topic\n$/,
    ],
    [
      ["--from", "kafka://[::1]:9092", "--topic", "t", "--group", "g"],
      /^error: option '--from <url>' takes no IPv6 address \(\[::1\]:9092\): .*give a host name that resolves to it\n$/,
    ],
  ])("usage error, exit 2, before anything is opened: %j", async (args, message) => {
    const db = join(tempDir(), "never.db");
    const run = await runCli(["ingest", ...args, "--to", db]);
    expect(run.stderr).toMatch(message);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(existsSync(db)).toBe(false);
  });

  it("reads the broker list of a kafka:// URL, with or without the scheme repeated, 9092 by default", () => {
    expect(kafkaBrokers("kafka://k1:9093,k2,kafka://10.0.0.3:9094,kafka_broker_1")).toStrictEqual([
      "k1:9093",
      "k2:9092",
      "10.0.0.3:9094",
      "kafka_broker_1:9092", // a container's name, as a compose file gives it
    ]);
  });
});
