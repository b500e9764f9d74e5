// A store or broker URL not in the exact form the CLI expects (a space or the quotes docker
// --env-file keeps around it, `postgres//` without the colon, a broker list with a space after the
// comma, a Kafka host without a scheme) was printed whole in the error, password included.
import { mkdirSync, readdirSync } from "node:fs";
import { dirname } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, seedEvents, tempDir } from "./helpers.js";

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

/** Runs `args` and expects the usage error naming the store as `shown`, no `secret` printed, nothing created. */
async function expectStoreRefused(
  [args, env]: [string[], NodeJS.ProcessEnv],
  shown: string,
  secrets: readonly string[],
): Promise<void> {
  const cwd = tempDir();
  const run = await runCli(args, { cwd, env: { ...process.env, ...env } });
  for (const secret of secrets) expect(run.stdout + run.stderr).not.toContain(secret);
  expect([run.code, run.stdout, run.stderr]).toStrictEqual([
    2,
    "",
    `error: the store ${shown} looks like a URL, but only postgres:// and postgresql:// URLs name a store (no space or quotes around them); write a SQLite file as ./<name>\n`,
  ]);
  expect(readdirSync(cwd)).toStrictEqual([]);
}

describe.each(STORES)("a store URL with %s", (_, value, shown) => {
  it.each(storeRuns(value))("%s is a usage error that hides the password", (_name, args, env) =>
    expectStoreRefused([args, env], shown, [STORE_SECRET]),
  );
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

// A password holding a quote or a backtick was printed in clear: the hider stopped at the quote.
const QUOTED = ["Qu0te'Tail7", 'Dq0te"Tail8', "Bq0te`Tail9"] as const;
/** The parts of a password around its quote: neither may be printed. */
const partsOf = (password: string) => password.split(/['"`]/);

describe.each(QUOTED)("a password with a quote (%s)", (password) => {
  it.each([
    ["NATS", [`nats://u:${password}@n1:4222`, ...NATS_ARGS]],
    ["Kafka", [`kafka://u:${password}@k1:9092`, ...KAFKA_ARGS]],
  ])("in a %s --from is refused without echoing it", async (_name, [from, ...flags]) => {
    const cwd = tempDir();
    const run = await runCli(["ingest", "--from", from as string, ...flags, "--to", "x.db"], { cwd });
    for (const part of partsOf(password)) expect(run.stdout + run.stderr).not.toContain(part);
    expect([run.code, run.stdout, run.stderr]).toStrictEqual([
      2,
      "",
      "error: option '--from <url>' must not hold credentials (every local user sees them in the process list): use --user and GRPC_AUDIT_BROKER_PASSWORD\n",
    ]);
    expect(readdirSync(cwd)).toStrictEqual([]);
  });

  it.each([
    ["pg://", `pg://u:${password}@h/db`, "pg://…@h/db"],
    ["mysql://", `mysql://u:${password}@h/db`, "mysql://…@h/db"],
  ])("in a %s store is a usage error that hides it", async (_scheme, value, shown) => {
    for (const [_run, args, env] of storeRuns(value))
      await expectStoreRefused([args, env], shown, partsOf(password));
  });
});

// A password given in a URL's query (`?password=`, `?token=`) was printed whole: only the part before
// an "@" was hidden.
describe("a password in a URL's query", () => {
  const QUERY_SECRET = "Qry5ecret";

  it.each([
    ["mysql://", `mysql://db/audit?password=${QUERY_SECRET}`, "mysql://db/audit?…"],
    ["pg:// with a user", `pg://audit@db/a?sslpassword=${QUERY_SECRET}&x=1`, "pg://…@db/a?…"],
    ["pasted JDBC", `jdbc:postgresql://db/a?user=u&password=${QUERY_SECRET}`, "jdbc:postgresql://db/a?…"],
    // An "@" in the query: the part before it is no user, and the password's end is unknown.
    [
      "mysql:// with an @ in it",
      `mysql://db/audit?password=pa@${QUERY_SECRET}`,
      "<value with credentials hidden>",
    ],
  ])("in a %s store is a usage error that hides it", async (_scheme, value, shown) => {
    for (const [_run, args, env] of storeRuns(value))
      await expectStoreRefused([args, env], shown, [QUERY_SECRET]);
  });

  it.each([
    ["NATS", [`nats://n1:4222?token=${QUERY_SECRET}`, ...NATS_ARGS], "nats://n1:4222?…"],
    ["Kafka", [`kafka://k1:9092?password=${QUERY_SECRET}`, ...KAFKA_ARGS], "kafka://k1:9092?…"],
  ])("in a %s --from is a usage error that hides it", async (_name, [from, ...flags], shown) => {
    const cwd = tempDir();
    const run = await runCli(["ingest", "--from", from as string, ...flags, "--to", "x.db"], { cwd });
    expect(run.stdout + run.stderr).not.toContain(QUERY_SECRET);
    expect([run.code, run.stdout]).toStrictEqual([2, ""]);
    expect(run.stderr).toContain(`got ${shown}\n`);
    expect(readdirSync(cwd)).toStrictEqual([]);
  });
});

// SQLite paths with ":" and "@" further on were refused as URLs; values that name no URL were
// rewritten in error lines (`user:alice@example.com` shown as `…@example.com`).
describe("text that names no URL with credentials", () => {
  it.each([
    ["a space, a colon and an at sign", "audit logs:2026@node1.db"],
    ["a comma", "a,b:c@d.db"],
    ["a double slash", "/node:1@eu/audit.db"],
  ])("a SQLite path with %s is a store", async (_, name) => {
    const cwd = tempDir();
    const path = `${cwd}/${name}`;
    mkdirSync(dirname(path), { recursive: true });
    const store = openAuditStore({ path });
    store.insert(seedEvents(3));
    store.close();
    const run = await runCli(["query", "--db", path, "--json"], { cwd });
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect((JSON.parse(run.stdout) as { events: unknown[] }).events).toHaveLength(3);
    const missing = await runCli(["stats", "--db", `${path}.gone`], { cwd });
    expect([missing.code, missing.stderr]).toStrictEqual([
      1,
      `error: no audit database at ${path}.gone; run \`grpc-audit demo\` or pass --db\n`,
    ]);
  });

  it.each([
    ["--trace-id", "user:alice@example.com", "Use 32 lowercase hex digits, as in a traceparent header."],
    ["--limit", "C:\\Users\\me@corp\\audit", "Use an integer from 1 to 1000."],
  ])("%s %s is repeated as given in the error", async (option, value, use) => {
    const run = await runCli(["query", option, value], { cwd: tempDir() });
    expect([run.code, run.stderr]).toStrictEqual([
      2,
      `error: option '${option} <${option === "--limit" ? "n" : "id"}>' argument '${value}' is invalid. ${use}\n`,
    ]);
  });

  it("a Windows path to a SQLite file is a store, not a URL", async () => {
    const run = await runCli(["stats", "--db", "C:\\Users\\me@corp\\audit.db"], { cwd: tempDir() });
    expect([run.code, run.stderr]).toStrictEqual([
      1,
      "error: no audit database at C:\\Users\\me@corp\\audit.db; run `grpc-audit demo` or pass --db\n",
    ]);
  });
});
