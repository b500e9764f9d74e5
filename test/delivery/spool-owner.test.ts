import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { type Compiled, compile } from "./compile.js";
import { errorCollector, numberedEvents, tempDir } from "./helpers.js";

const CHILD = "test/delivery/fixtures/spool-owner-child.ts";

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;
let spoolPath: string;
const emitters: DeliveryEmitter[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  compiled = compile([CHILD]);
});

afterAll(() => compiled?.remove());

beforeEach(() => {
  dir = tempDir("owner");
  spoolPath = path.join(dir.dir, "spool.db");
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  dir.remove();
});

function open(): DeliveryEmitter {
  const emitter = createDeliveryEmitter({ sink: createFakeSink(), spool: { path: spoolPath } });
  emitters.push(emitter);
  return emitter;
}

/** Starts the child in `mode`; resolves with its first line of output, and all it says so far. */
async function runChild(
  mode: "hold" | "try",
  file = spoolPath,
): Promise<{ child: ChildProcess; line: string; output: () => string }> {
  const child = spawn(process.execPath, [compiled.file(CHILD), file, mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    output += chunk;
  });
  await until(() => output.includes("\n"), { message: () => `child said ${output}` });
  return { child, line: output.split("\n")[0] ?? "", output: () => output };
}

function inUseMessage(holder: string): string {
  return (
    `delivery emitter: spool.path ${spoolPath} is in use by ${holder}. A spool has one owner: give each ` +
    "process (each cluster worker) and each emitter its own spool path"
  );
}

describe("one owner per spool", () => {
  it("refuses a second process on a spool path in use, naming the path and the holder's pid", async () => {
    const holder = await runChild("hold");
    const pid = Number(holder.line.split(" ")[1]);
    expect(holder.line).toBe(`ready ${holder.child.pid}`);

    const second = await runChild("try");

    expect(second.line).toBe(`refused AuditConfigError: ${inUseMessage(`process ${pid}`)}`);
  });

  it("gives the spool to the next process once its owner was killed with SIGKILL", async () => {
    const holder = await runChild("hold");
    const exited = once(holder.child, "exit");
    holder.child.kill("SIGKILL");
    await exited;

    const next = await runChild("try");

    expect(next.line).toBe("opened");
  });

  it("refuses a second emitter in the same process, naming this process", () => {
    open();

    expect(() => open()).toThrow(AuditConfigError);
    expect(() => open()).toThrow(
      inUseMessage(`this process (pid ${process.pid}): another delivery emitter has it open`),
    );
  });

  it("keeps the first emitter's lock when a second one is refused, and frees it on close", async () => {
    const first = open();
    expect(() => open()).toThrow(AuditConfigError);
    // Had the refusal dropped the first emitter's OS lock, another process would now get the spool.
    const other = await runChild("try");
    expect(other.line).toBe(`refused AuditConfigError: ${inUseMessage(`process ${process.pid}`)}`);

    await first.close();
    const next = open();
    for (const event of numberedEvents(2)) next.emit(event);
    expect((await next.flush()).ok).toBe(true);
  });
});

describe("one owner per file, whatever its name", () => {
  it("refuses a second process that reaches the spool through a symlink", async () => {
    const holder = await runChild("hold");
    const link = path.join(dir.dir, "link.db");
    fs.symlinkSync(spoolPath, link);

    const second = await runChild("try", link);

    expect(second.line).toBe(
      `refused AuditConfigError: ${inUseMessage(`process ${holder.child.pid}`).replace(spoolPath, link)}`,
    );
  });

  it("refuses a second emitter here that reaches the spool through a symlink", () => {
    open();
    const link = path.join(dir.dir, "link.db");
    fs.symlinkSync(spoolPath, link);

    expect(() => createDeliveryEmitter({ sink: createFakeSink(), spool: { path: link } })).toThrow(
      AuditConfigError,
    );
  });
});

describe("a spool path that is a symlink to a file not made yet", () => {
  it("makes the spool at the link's end, in a folder made for it, and locks that file", () => {
    const target = path.join(dir.dir, "data", "spool.db");
    const link = path.join(dir.dir, "link.db");
    fs.symlinkSync(target, link);

    const emitter = createDeliveryEmitter({ sink: createFakeSink(), spool: { path: link } });
    emitters.push(emitter);

    expect(fs.statSync(target).isFile()).toBe(true);
    expect(fs.existsSync(`${target}.lock`)).toBe(true);
    expect(() => createDeliveryEmitter({ sink: createFakeSink(), spool: { path: target } })).toThrow(
      AuditConfigError,
    );
  });
});

describe("a lock file deleted while its owner runs", () => {
  it("is locked again by the owner, which reports it, so a second process is still refused", async () => {
    const holder = await runChild("hold");
    fs.rmSync(`${spoolPath}.lock`);
    const retaken =
      `error child: spool ${spoolPath}: the lock file ${spoolPath}.lock was deleted or replaced while ` +
      "in use: locked the new one (never delete a spool's lock file)";
    await until(() => holder.output().includes(`${retaken}\n`), {
      message: () => `holder said ${holder.output()}`,
    });

    const second = await runChild("try");

    expect(second.line).toBe(`refused AuditConfigError: ${inUseMessage(`process ${holder.child.pid}`)}`);
  });

  /**
   * A first emitter (its sink holding writes) with 3 rows committed to its spool, whose lock file is
   * then deleted, and a second emitter opened on the spool: it takes the new lock.
   */
  async function lockTakenBySecond() {
    const { errors, onError } = errorCollector();
    const sink = createFakeSink();
    sink.mode = "hold";
    const first = createDeliveryEmitter({
      sink,
      onError,
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 5 },
    });
    emitters.push(first);
    for (const event of numberedEvents(3)) first.emit(event);
    await until(() => first.stats().spooled === 3);
    fs.rmSync(`${spoolPath}.lock`);
    return { first, errors, second: open() };
  }

  it("makes the owner stop using the spool when another emitter took the new lock first", async () => {
    const { errors, second } = await lockTakenBySecond();

    await until(() => errors.length > 0, { message: () => "the first emitter reported nothing" });
    expect(errors.map((error) => error.message)).toStrictEqual([
      `fake: spool ${spoolPath}: the lock file ${spoolPath}.lock was deleted or replaced while in use, ` +
        "and another emitter holds the new one: stopped using the spool; its 3 committed rows are left to that one",
    ]);
    // The second emitter, sole owner now, delivers the rows.
    await until(() => second.stats().replayed === 3);
    expect(second.stats()).toMatchObject({ replayed: 3, spoolEvents: 0 });
  });

  it("commits nothing more once another emitter took the new lock: events after stay in memory", async () => {
    const { first, errors, second } = await lockTakenBySecond();
    // Right after the second emitter read what the file held: committed now, these rows would be
    // left to nobody (the first checked its lock once a second, and committed meanwhile).
    for (const event of numberedEvents(100, "authz", "late")) first.emit(event);

    await until(() => errors.length > 0, { message: () => "the first emitter reported nothing" });
    expect(first.stats()).toMatchObject({ spooled: 3, queueEvents: 100 });
    await until(() => second.stats().replayed === 3);
    expect(second.stats()).toMatchObject({ replayed: 3, spoolEvents: 0 });
  });
});

describe("the lock file", () => {
  it("is started over when it is not a SQLite file (nobody can hold such a file)", async () => {
    fs.writeFileSync(`${spoolPath}.lock`, "garbage, not a lock ".repeat(20));
    const emitter = open();

    for (const event of numberedEvents(2)) emitter.emit(event);
    expect((await emitter.flush()).ok).toBe(true);
    expect(() => open()).toThrow(AuditConfigError);
  });
});

describe("spool file modes", () => {
  it("creates the spool, its -wal and -shm and the lock file with mode 0600, and new folders 0700", async () => {
    spoolPath = path.join(dir.dir, "new", "spool.db");
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({
      sink,
      spool: { path: spoolPath, writeAhead: true, commitIntervalMs: 5 },
    });
    emitters.push(emitter);
    for (const event of numberedEvents(3)) emitter.emit(event);
    await until(() => emitter.stats().spooled === 3);

    const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);
    expect(
      ["", "-wal", "-shm", ".lock"].map((suffix) => [suffix, mode(`${spoolPath}${suffix}`)]),
    ).toStrictEqual([
      ["", "600"],
      ["-wal", "600"],
      ["-shm", "600"],
      [".lock", "600"],
    ]);
    expect(mode(path.dirname(spoolPath))).toBe("700");
  });
});
