// `grpc-audit` installed without an optional peer a command needs (pg, the NATS client, the Kafka
// client, the OpenFGA SDK, better-sqlite3): the built command runs from a project whose node_modules
// lacks that package, as after `npm install grpc-audit` alone, and names the package to install
// instead of Node's resolution error, before it creates any file.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, REPO, tempDir } from "./helpers.js";

interface PackageJson {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as PackageJson;

const projects: string[] = [];

/**
 * A project with the built package copied in (not linked: its imports must resolve from this
 * project's node_modules) and every dependency and peer linked but `missing`; resolves to its CLI.
 */
function projectWithout(missing: readonly string[]): string {
  const project = mkdtempSync(join(tmpdir(), "grpc-audit-peers-"));
  projects.push(project);
  const modules = join(project, "node_modules");
  cpSync(join(REPO, "dist"), join(modules, "grpc-audit/dist"), { recursive: true });
  cpSync(join(REPO, "package.json"), join(modules, "grpc-audit/package.json"));
  const names = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)];
  for (const name of names.filter((n) => !missing.includes(n))) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(REPO, "node_modules", name), join(modules, name), "dir");
  }
  return join(modules, "grpc-audit/dist/cli/main.js");
}

/** Runs the command at `cli` with `args`; its exit code and stderr. */
function run(cli: string, args: readonly string[]): [number | null, string] {
  const { GRPC_AUDIT_DB: _ignored, ...env } = process.env;
  const done = spawnSync(process.execPath, [cli, ...args], { cwd: tempDir(), env, encoding: "utf8" });
  return [done.status, done.stderr];
}

let withoutPg: string;
let withoutNats: string;
let withoutKafka: string;
let withoutOpenFga: string;
let withoutSqlite: string;

beforeAll(async () => {
  await ensureBuilt();
  withoutPg = projectWithout(["pg"]);
  withoutNats = projectWithout(["@nats-io/transport-node", "@nats-io/jetstream"]);
  withoutKafka = projectWithout(["@platformatic/kafka"]);
  withoutOpenFga = projectWithout(["@openfga/sdk"]);
  withoutSqlite = projectWithout(["better-sqlite3"]);
}, BUILD_TIMEOUT_MS);
afterAll(() => {
  for (const project of projects) rmSync(project, { recursive: true, force: true });
});

const NATS = ["--from", "nats://127.0.0.1:4222", "--stream", "S", "--consumer", "C"];
const KAFKA = ["--from", "kafka://127.0.0.1:9092", "--topic", "t", "--group", "g"];

describe("grpc-audit ingest without an optional peer it needs", () => {
  it("--to postgres:// without pg says so, exit 1, as query does", () => {
    const to = ["--to", "postgres://audit@127.0.0.1:1/audit"];
    const message =
      "error: the PostgreSQL store needs pg, an optional peer dependency: npm install pg (for a global grpc-audit: npm install -g pg)\n";
    expect(run(withoutPg, ["ingest", ...NATS, ...to])).toStrictEqual([1, message]);
    expect(run(withoutPg, ["query", "--db", to[1] as string])).toStrictEqual([1, message]);
  });

  it.each([
    [
      "nats://",
      () => withoutNats,
      NATS,
      "the NATS source needs @nats-io/transport-node and @nats-io/jetstream, optional peer dependencies: npm install @nats-io/transport-node @nats-io/jetstream (for a global grpc-audit: npm install -g @nats-io/transport-node @nats-io/jetstream)",
    ],
    [
      "kafka://",
      () => withoutKafka,
      KAFKA,
      "the Kafka source needs @platformatic/kafka, an optional peer dependency: npm install @platformatic/kafka (for a global grpc-audit: npm install -g @platformatic/kafka)",
    ],
  ])("--from %s without its client says so, exit 1, and creates no store", (_, cli, from, message) => {
    const dir = tempDir();
    expect(run(cli(), ["ingest", ...from, "--to", join(dir, "audit.db")])).toStrictEqual([
      1,
      `error: ${message}\n`,
    ]);
    expect(readdirSync(dir)).toStrictEqual([]);
  });
});

describe("the other commands without an optional peer they need", () => {
  it("demo --openfga-url without @openfga/sdk says so, exit 1, and leaves no file", () => {
    const dir = tempDir();
    const args = ["demo", "--db", join(dir, "audit.db"), "--log", join(dir, "audit.ndjson")];
    const openfga = ["--openfga-url", "http://127.0.0.1:1", "--openfga-store", "01ARZ3NDEKTSV4RRFFQ69G5FAV"];
    expect(run(withoutOpenFga, [...args, ...openfga])).toStrictEqual([
      1,
      "error: --openfga-url needs @openfga/sdk, an optional peer dependency: npm install @openfga/sdk (for a global grpc-audit: npm install -g @openfga/sdk)\n",
    ]);
    expect(readdirSync(dir)).toStrictEqual([]);
  });

  it("query without better-sqlite3 says so, exit 1", () => {
    const db = join(tempDir(), "audit.db");
    writeFileSync(db, "");
    expect(run(withoutSqlite, ["query", "--db", db])).toStrictEqual([
      1,
      "error: the audit store needs better-sqlite3, an optional peer dependency: npm install better-sqlite3 (for a global grpc-audit: npm install -g better-sqlite3)\n",
    ]);
  });
});

describe("the library without an optional peer it needs", () => {
  it.each([
    [
      "a delivery emitter",
      'createDeliveryEmitter({ sink: { name: "s", write: async () => {} }, spool: { path: process.argv[2] } })',
      "delivery emitter: `spool`",
    ],
    [
      // Named as the caller wrote it (review R131).
      "a broker emitter",
      'createBrokerEmitter({ broker: { name: "b", publish: async () => {}, close: async () => {} }, topic: "t", delivery: { spool: { path: process.argv[2] } } })',
      "broker emitter: `delivery.spool`",
    ],
  ])("%s with a spool, without better-sqlite3, says so and makes no file", (_, create, option) => {
    // <project>/node_modules/grpc-audit/dist/cli/main.js: the project is five folders up.
    const project = dirname(dirname(dirname(dirname(dirname(withoutSqlite)))));
    const script = join(project, "spool.mjs");
    writeFileSync(
      script,
      `import { createBrokerEmitter, createDeliveryEmitter } from "grpc-audit";
try {
  ${create};
  console.log("created");
} catch (error) {
  console.log(\`\${error.name}: \${error.message}\`);
}
`,
    );
    const dir = tempDir();
    const done = spawnSync(process.execPath, [script, join(dir, "spool.db")], { encoding: "utf8" });
    expect([done.status, done.stdout]).toStrictEqual([
      0,
      `AuditConfigError: ${option} needs the optional peer dependency better-sqlite3 (npm install better-sqlite3)\n`,
    ]);
    expect(readdirSync(dir)).toStrictEqual([]);
  });
});
