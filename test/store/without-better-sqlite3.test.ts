// `grpc-audit/store` installed without its optional peer better-sqlite3: the built package runs from a
// project whose node_modules lacks that package, as after `npm install grpc-audit` alone. The import
// succeeds (it loads nothing of better-sqlite3), and opening a store says what to install, as the spool
// and the CLI do, before it creates any file.
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
import { BUILD_TIMEOUT_MS, ensureBuilt, REPO } from "../cli/helpers.js";

interface PackageJson {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

let project: string;

beforeAll(async () => {
  await ensureBuilt();
  project = mkdtempSync(join(tmpdir(), "grpc-audit-no-sqlite-"));
  const modules = join(project, "node_modules");
  // Copied, not linked: the package's imports must resolve from this project's node_modules.
  cpSync(join(REPO, "dist"), join(modules, "grpc-audit/dist"), { recursive: true });
  cpSync(join(REPO, "package.json"), join(modules, "grpc-audit/package.json"));
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as PackageJson;
  const names = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)];
  for (const name of names.filter((n) => n !== "better-sqlite3")) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(join(REPO, "node_modules", name), join(modules, name), "dir");
  }
}, BUILD_TIMEOUT_MS);
afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

describe("grpc-audit/store without better-sqlite3", () => {
  it("imports, and openAuditStore throws an AuditConfigError naming the install command, creating no file", () => {
    const script = join(project, "store.mjs");
    writeFileSync(
      script,
      `const { openAuditStore } = await import("grpc-audit/store");
console.log("imported");
try {
  openAuditStore({ path: process.argv[2] });
  console.log("opened");
} catch (error) {
  console.log(\`\${error.name}: \${error.message}\`);
}
`,
    );
    const dir = mkdtempSync(join(tmpdir(), "grpc-audit-no-sqlite-db-"));
    try {
      const done = spawnSync(process.execPath, [script, join(dir, "audit.db")], { encoding: "utf8" });
      expect([done.status, done.stdout, done.stderr]).toStrictEqual([
        0,
        "imported\nAuditConfigError: audit store: openAuditStore needs the optional peer dependency better-sqlite3 (npm install better-sqlite3)\n",
        "",
      ]);
      expect(readdirSync(dir)).toStrictEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
