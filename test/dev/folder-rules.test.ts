// The folder-rule check `npm run lint` runs (dependency-cruiser with .dependency-cruiser.cjs) passes on
// src/ as it is, and fails, naming the rule, on a copy of src/ with one upward import, an import of a
// folder nobody listed, or an import cycle added.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");
const CONFIG = join(REPO, ".dependency-cruiser.cjs");
const DEPCRUISE = join(REPO, "node_modules/.bin/depcruise");
let copy = "";

/** A copy of src/ (with tsconfig.json and node_modules) to add imports to. */
function copyOfSrc(): string {
  copy = mkdtempSync(join(tmpdir(), "grpc-audit-folders-"));
  cpSync(join(REPO, "src"), join(copy, "src"), { recursive: true });
  cpSync(join(REPO, "tsconfig.json"), join(copy, "tsconfig.json"));
  symlinkSync(join(REPO, "node_modules"), join(copy, "node_modules"), "dir");
  return copy;
}
afterEach(() => rmSync(copy, { recursive: true, force: true }));

/** Runs the check in `dir`: its exit code and what it printed. */
async function check(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await promisify(execFile)(DEPCRUISE, ["src", "--config", CONFIG], { cwd: dir });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, output: failed.stdout };
  }
}

describe("folder rules", () => {
  it("pass on src/ as it is", async () => {
    const { code, output } = await check(copyOfSrc());
    expect([code, output]).toStrictEqual([0, expect.stringContaining("no dependency violations found")]);
  });

  it("fail on an upward import: event/ importing the recorder", async () => {
    const dir = copyOfSrc();
    writeFileSync(
      join(dir, "src/event/upward.ts"),
      'import type { Recorder } from "../recorder/recorder.js";\nexport type R = Recorder;\n',
    );
    const { code, output } = await check(dir);
    expect(code).not.toBe(0);
    expect(output).toContain("error folder-event: src/event/upward.ts → src/recorder/recorder.ts");
  });

  it("fail when anything but the CLI imports the CLI", async () => {
    const dir = copyOfSrc();
    writeFileSync(join(dir, "src/store/cli-use.ts"), 'export * from "../cli/time.js";\n');
    const { code, output } = await check(dir);
    expect(code).not.toBe(0);
    expect(output).toContain("error folder-store: src/store/cli-use.ts → src/cli/time.ts");
  });

  it("fail on a folder that has no rule", async () => {
    const dir = copyOfSrc();
    cpSync(join(dir, "src/server"), join(dir, "src/misc"), { recursive: true });
    writeFileSync(join(dir, "src/misc/use.ts"), 'export * from "../errors/index.js";\n');
    const { code, output } = await check(dir);
    expect(code).not.toBe(0);
    expect(output).toContain("error folder-unknown: src/misc/use.ts → src/errors/index.ts");
  });

  it("fail on an import cycle inside a folder", async () => {
    const dir = copyOfSrc();
    writeFileSync(join(dir, "src/event/a.ts"), 'import { b } from "./b.js";\nexport const a = () => b;\n');
    writeFileSync(join(dir, "src/event/b.ts"), 'import { a } from "./a.js";\nexport const b = () => a;\n');
    const { code, output } = await check(dir);
    expect(code).not.toBe(0);
    expect(output.replace(/\s+/g, " ")).toContain("error no-circular: src/event/a.ts → src/event/b.ts →");
  });
});
