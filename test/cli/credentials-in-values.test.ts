// A store or broker URL not in the exact form the CLI expects (a space or the quotes docker
// --env-file keeps around it, `postgres//` without the colon, a broker list with a space after the
// comma, a Kafka host without a scheme) was printed whole in the error, password included.
import { readdirSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

const STORE_SECRET = "S3cr3tPw";
const BROKER_SECRET = "BrokerPw1";

const STORES = [
  ["a leading space", ` postgres://audit:${STORE_SECRET}@db/audit`, " postgres://…@db/audit"],
  ["literal quotes", `"postgres://audit:${STORE_SECRET}@db/audit"`, '"postgres://…@db/audit"'],
  ["postgres// without the colon", `postgres//audit:${STORE_SECRET}@db/audit`, "postgres//…@db/audit"],
] as const;

const NATS_ARGS = ["--stream", "A", "--consumer", "c"];
const KAFKA_ARGS = ["--topic", "t", "--group", "g"];

/** Every way a store value reaches the CLI: --db, --db=, GRPC_AUDIT_DB, ingest --to. */
function storeRuns(value: string): [string, string[], NodeJS.ProcessEnv][] {
  return [
    ["query --db", ["query", "--db", value], {}],
    ["verify --db=", ["verify", `--db=${value}`], {}],
    ["stats with GRPC_AUDIT_DB", ["stats"], { GRPC_AUDIT_DB: value }],
    ["prune with GRPC_AUDIT_DB", ["prune", "--before", "1d"], { GRPC_AUDIT_DB: value }],
    ["ingest --to", ["ingest", "--from", "nats://127.0.0.1:4222", ...NATS_ARGS, "--to", value], {}],
  ];
}

describe.each(STORES)("a store URL with %s", (_, value, shown) => {
  it.each(storeRuns(value))("%s is a usage error that hides the password", async (_name, args, env) => {
    const cwd = tempDir();
    const run = await runCli(args, { cwd, env: { ...process.env, ...env } });
    expect(run.stdout + run.stderr).not.toContain(STORE_SECRET);
    expect([run.code, run.stdout, run.stderr]).toStrictEqual([
      2,
      "",
      `error: the store ${shown} looks like a URL, but only postgres:// and postgresql:// URLs name a store (no space or quotes around them); write a SQLite file as ./<name>\n`,
    ]);
    expect(readdirSync(cwd)).toStrictEqual([]);
  });
});

const BROKERS = [
  ["a leading space", ` nats://ingest:${BROKER_SECRET}@nats:4222`],
  ["literal quotes", `"nats://ingest:${BROKER_SECRET}@nats:4222"`],
  ["a space after the comma", `nats://a:4222, nats://ingest:${BROKER_SECRET}@b:4222`],
  ["a Kafka host without a scheme", `kafka://k1:9092, ingest:${BROKER_SECRET}@k2:9092`],
  ["no comma and a Kafka host without a scheme", `kafka://k1:9092,ingest:${BROKER_SECRET}@k2:9092`],
  ["kafka://", `kafka://ingest:${BROKER_SECRET}@k1:9092`],
  ["a NATS token", `nats://${BROKER_SECRET}@nats:4222`],
] as const;

describe.each(BROKERS)("--from with %s", (_, from) => {
  it.each([
    ["NATS flags", NATS_ARGS],
    ["Kafka flags", KAFKA_ARGS],
  ])("with %s never prints the password", async (_name, flags) => {
    const cwd = tempDir();
    const run = await runCli(["ingest", "--from", from, ...flags, "--to", "x.db"], { cwd });
    expect(run.stdout + run.stderr).not.toContain(BROKER_SECRET);
    expect(run.code).toBe(2);
    expect(readdirSync(cwd)).toStrictEqual([]);
  });
});
