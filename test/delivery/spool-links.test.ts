import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { type Compiled, compile } from "./compile.js";
import { numberedEvents, tempDir } from "./helpers.js";

const CHILD = "test/delivery/fixtures/spool-owner-child.ts";

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;
let spoolPath: string;
let linkPath: string;
const emitters: DeliveryEmitter[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  compiled = compile([CHILD]);
});

afterAll(() => compiled?.remove());

beforeEach(() => {
  dir = tempDir("links");
  spoolPath = path.join(dir.dir, "spool.db");
  linkPath = path.join(dir.dir, "hard.db");
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  dir.remove();
});

function open(file: string): DeliveryEmitter {
  const emitter = createDeliveryEmitter({ sink: createFakeSink(), spool: { path: file } });
  emitters.push(emitter);
  return emitter;
}

/** Starts spool-owner-child in `mode` on `file`; resolves with its first line of output. */
async function runChild(mode: "hold" | "try", file: string): Promise<string> {
  const child = spawn(process.execPath, [compiled.file(CHILD), file, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  await until(() => output.includes("\n"), { message: () => `child said ${output}` });
  return output.split("\n")[0] ?? "";
}

function hardLinkRefusal(file: string, names = 2): string {
  return (
    `delivery emitter: cannot open spool.path ${file}: the file has ${names} names (hard links), so ` +
    "another emitter could own it under another name. A spool has one name: remove its other links " +
    `(\`find <mount point> -xdev -samefile ${fs.realpathSync(file)}\` lists them)`
  );
}

describe("a spool file with more than one name (hard links)", () => {
  it("is refused to a second process that reaches a spool in use through a hard link", async () => {
    expect(await runChild("hold", spoolPath)).toMatch(/^ready \d+$/);
    fs.linkSync(spoolPath, linkPath);

    const second = await runChild("try", linkPath);

    expect(second).toBe(`refused AuditConfigError: ${hardLinkRefusal(linkPath)}`);
    // Refused before its lock was taken: no lock file for the second name.
    expect(fs.existsSync(`${linkPath}.lock`)).toBe(false);
  });

  it("is refused to a second emitter here that reaches the spool through a hard link", () => {
    open(spoolPath);
    fs.linkSync(spoolPath, linkPath);

    expect(() => open(linkPath)).toThrow(AuditConfigError);
    expect(() => open(linkPath)).toThrow(hardLinkRefusal(linkPath));
  });

  it("is refused under every name, and opens once the other names are removed", async () => {
    const first = open(spoolPath);
    for (const event of numberedEvents(2)) first.emit(event);
    expect((await first.flush()).ok).toBe(true);
    await first.close();
    fs.linkSync(spoolPath, linkPath);
    fs.linkSync(spoolPath, path.join(dir.dir, "third.db"));

    expect(() => open(spoolPath)).toThrow(hardLinkRefusal(spoolPath, 3));
    expect(() => open(linkPath)).toThrow(hardLinkRefusal(linkPath, 3));

    fs.rmSync(linkPath);
    fs.rmSync(path.join(dir.dir, "third.db"));
    const next = open(spoolPath);
    for (const event of numberedEvents(2)) next.emit(event);
    expect((await next.flush()).ok).toBe(true);
  });
});

describe("a spool path that is a folder", () => {
  it("is refused without leaving a lock file beside it", () => {
    const folder = path.join(dir.dir, "spools");
    fs.mkdirSync(folder);

    expect(() => open(folder)).toThrow(AuditConfigError);
    expect(fs.readdirSync(dir.dir)).toStrictEqual(["spools"]);
    expect(() => open(folder)).toThrow(
      `delivery emitter: cannot open spool.path ${folder}: it is a folder, not a file`,
    );
  });
});
