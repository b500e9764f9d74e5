// The suite runs on two Nodes (.ci/run: the machine's Node 20, then Node 24). Child processes started
// by name run on the Node under test, and scripts/node24.sh switches better-sqlite3's addon between
// Nodes by copying the build it keeps per Node ABI (run here on a copy of the script and the package,
// with the Node running the tests, so nothing is compiled).
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");
const ADDON = "node_modules/better-sqlite3/build/Release/better_sqlite3.node";
let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A folder with scripts/node24.sh and the parts of better-sqlite3 that load its addon. */
function copyOfRepo(): string {
  dir = mkdtempSync(join(tmpdir(), "grpc-audit-node24-"));
  for (const part of ["scripts/node24.sh", "node_modules/better-sqlite3/package.json", ADDON]) {
    mkdirSync(dirname(join(dir, part)), { recursive: true });
    cpSync(join(REPO, part), join(dir, part));
  }
  cpSync(join(REPO, "node_modules/better-sqlite3/lib"), join(dir, "node_modules/better-sqlite3/lib"), {
    recursive: true,
  });
  symlinkSync(join(REPO, "node_modules/bindings"), join(dir, "node_modules/bindings"), "dir");
  return dir;
}

function native(node: string): { status: number | null; stderr: string } {
  const { status, stderr } = spawnSync("bash", [join(dir, "scripts/node24.sh"), "native", node], {
    encoding: "utf8",
  });
  return { status, stderr };
}

describe("the Node under test", () => {
  it("is also the `node` on PATH, so a child process started by name runs on it", () => {
    expect(execFileSync("node", ["--version"], { encoding: "utf8" }).trim()).toBe(process.version);
  });
});

describe("scripts/node24.sh native", () => {
  it("keeps the installed addon as its Node's build and copies it back over a replaced one", () => {
    copyOfRepo();
    const original = readFileSync(join(dir, ADDON));
    const { version } = JSON.parse(
      readFileSync(join(REPO, "node_modules/better-sqlite3/package.json"), "utf8"),
    );
    const kept = join(
      dir,
      `.cache/native/better-sqlite3-${version}-abi${process.versions.modules}/better_sqlite3.node`,
    );
    const ready = `better-sqlite3 ${version} ready for node ${process.version} (ABI ${process.versions.modules})\n`;

    expect(native(process.execPath)).toStrictEqual({ status: 0, stderr: ready });
    expect(readFileSync(kept).equals(original)).toBe(true);

    writeFileSync(join(dir, ADDON), "built for another Node");
    expect(native(process.execPath)).toStrictEqual({ status: 0, stderr: ready }); // no "building ..."
    expect(readFileSync(join(dir, ADDON)).equals(original)).toBe(true);
  });
});
