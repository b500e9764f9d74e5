// The API report check (`npm run api:check`, part of `npm test`) run as a child process on real
// declarations: those of src/ as they are pass, and a copy with one export added, or one removed and one
// changed, fails with a diff that names the change. The declarations are those of the CLI tests' build of
// dist/, copied into temp/ (inside the project, so that their imports resolve from node_modules).
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, copyBuiltDeclarations } from "../cli/helpers.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = join(REPO, "scripts/api-report.mjs");
/** The entry points with types in package.json "exports": one report each. */
const ENTRY_POINTS = Object.values(
  (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { exports: Record<string, unknown> })
    .exports,
).filter((target) => typeof target === "object" && target !== null && "types" in target).length;

let work: string;
let declarations: string;

beforeAll(async () => {
  mkdirSync(join(REPO, "temp"), { recursive: true });
  work = mkdtempSync(join(REPO, "temp", "api-test-"));
  declarations = join(work, "dts");
  await copyBuiltDeclarations(declarations);
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A copy of the declarations, changed by `edit`. */
function changedCopy(name: string, edit: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(declarations, dir, { recursive: true });
  edit(dir);
  return dir;
}

function replaceIn(file: string, from: string, to: string): void {
  const text = readFileSync(file, "utf8");
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

function check(dir: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [SCRIPT, "--declarations", dir], { encoding: "utf8" });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe("npm run api:check", () => {
  it("passes on the declarations of src/ as they are: etc/ holds the current public API", () => {
    const { status, output } = check(declarations);
    expect(output).toContain(`the public API of ${ENTRY_POINTS} entry points matches etc/`);
    expect(status).toBe(0);
  }, 60_000);

  it("fails with a diff when an export is added to the root entry point", () => {
    const dir = changedCopy("added", (d) => {
      appendFileSync(join(d, "index.d.ts"), "export declare function addedForTest(): void;\n");
    });
    const { status, output } = check(dir);
    expect(status).toBe(1);
    expect(output).toContain('The public API of "." changed (etc/grpc-audit.api.md)');
    expect(output).toContain("+export function addedForTest(): void;");
    expect(output).toContain("run `npm run api:update` and commit etc/");
  }, 60_000);

  it("fails with a diff when an export is removed and a public type changes", () => {
    const dir = changedCopy("removed-changed", (d) => {
      replaceIn(join(d, "testing/index.d.ts"), " matchesEvent,", "");
      replaceIn(join(d, "errors/index.d.ts"), "readonly emitter: string;", "readonly emitter: number;");
    });
    const { status, output } = check(dir);
    expect(status).toBe(1);
    expect(output).toContain('The public API of "./testing" changed (etc/grpc-audit-testing.api.md)');
    expect(output).toMatch(/^-export function matchesEvent\(/m);
    expect(output).toContain('The public API of "." changed (etc/grpc-audit.api.md)');
    expect(output).toContain("-    readonly emitter: string;");
    expect(output).toContain("+    readonly emitter: number;");
  }, 60_000);
});
