// What a user's TypeScript sees: a consumer project in a temporary folder imports the built package's
// declarations with `skipLibCheck: false`, with only the required dependencies installed (none of the
// optional peers: @openfga/sdk, NATS, Kafka, better-sqlite3). The main entry point, `grpc-audit/testing`
// and `grpc-audit/store` must type-check; a declaration that imports an optional peer's types fails here.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, copyBuiltDeclarations } from "../cli/helpers.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(REPO, "node_modules/.bin/tsc");

interface PackageJson {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
}
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as PackageJson;
const optionalPeers = Object.keys(pkg.peerDependenciesMeta).filter(
  (name) => pkg.peerDependenciesMeta[name]?.optional,
);
/** What `npm install grpc-audit` brings without optional peers, and the Node types a TS user has. */
const installed = [
  ...Object.keys(pkg.dependencies),
  ...Object.keys(pkg.peerDependencies).filter((name) => !optionalPeers.includes(name)),
  "@types/node",
];

let consumer: string;

beforeAll(async () => {
  consumer = mkdtempSync(join(tmpdir(), "grpc-audit-consumer-"));
  const modules = join(consumer, "node_modules");
  // The package is a real folder, not a link into this repository: its imports must resolve from the
  // consumer's node_modules, where the optional peers are missing.
  const dist = join(modules, "grpc-audit/dist");
  await copyBuiltDeclarations(dist);
  cpSync(join(REPO, "package.json"), join(modules, "grpc-audit/package.json"));
  for (const name of installed) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(REPO, "node_modules", name), join(modules, name), "dir");
  }
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ type: "module", private: true }));
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ["node"],
      },
      files: ["index.ts"],
    }),
  );
  writeFileSync(
    join(consumer, "index.ts"),
    [
      'import * as grpcAudit from "grpc-audit";',
      'import * as testing from "grpc-audit/testing";',
      'import * as store from "grpc-audit/store";',
      "export const names: string[] = [...Object.keys(grpcAudit), ...Object.keys(testing), ...Object.keys(store)];",
      "",
    ].join("\n"),
  );
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  rmSync(consumer, { recursive: true, force: true });
});

describe("the built package in a consumer project without optional peers", () => {
  it("has none of the optional peers resolvable", () => {
    expect(optionalPeers).toEqual(expect.arrayContaining(["@openfga/sdk", "better-sqlite3"]));
    const require = createRequire(join(consumer, "index.js"));
    for (const name of [...optionalPeers, "@types/better-sqlite3"]) {
      expect(() => require.resolve(name), name).toThrow();
    }
  });

  it("type-checks `grpc-audit`, `grpc-audit/testing` and `grpc-audit/store` with skipLibCheck false", () => {
    let output = "";
    try {
      execFileSync(TSC, ["-p", consumer], { stdio: "pipe" });
    } catch (error: unknown) {
      output = String((error as { stdout?: Buffer }).stdout ?? error);
    }
    expect(output).toBe("");
  }, 120_000); // a whole tsc run: ~10 s idle, over 30 s on a loaded 2-core machine

  it("type-checks `grpc-audit/otel` once its optional peer @opentelemetry/api is installed", () => {
    expect(typeCheckWith(["@opentelemetry/api"], "grpc-audit/otel")).toBe("");
  }, 120_000);

  it("type-checks `grpc-audit/postgres` once pg and @types/pg are installed (docs/postgres.md)", () => {
    expect(typeCheckWith(["pg", "@types/pg"], "grpc-audit/postgres")).toBe("");
  }, 120_000);
});

/** What tsc prints for a copy of the consumer that also has `peers` installed and imports `entry`. */
function typeCheckWith(peers: readonly string[], entry: string): string {
  const project = mkdtempSync(join(tmpdir(), "grpc-audit-peer-consumer-"));
  try {
    cpSync(consumer, project, { recursive: true, verbatimSymlinks: true });
    for (const name of peers) {
      mkdirSync(dirname(join(project, "node_modules", name)), { recursive: true });
      symlinkSync(join(REPO, "node_modules", name), join(project, "node_modules", name), "dir");
    }
    writeFileSync(
      join(project, "index.ts"),
      `import * as entry from "${entry}";\nexport const names: string[] = Object.keys(entry);\n`,
    );
    execFileSync(TSC, ["-p", project], { stdio: "pipe" });
    return "";
  } catch (error: unknown) {
    return String((error as { stdout?: Buffer }).stdout ?? error);
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}
