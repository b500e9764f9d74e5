import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { sampleEvent } from "../helpers/events.js";

// Real processes, real files: a process that ends right after it created the emitter, before the
// event loop turned once, still gets every line it emitted into the file.
describe("a log emitter that owns its file, in a process that ends at once", () => {
  const CHILD = "test/emitters/fixtures/log-exit-early-child.ts";
  let compiled: Compiled;
  let dir: string;

  beforeAll(() => {
    compiled = compile([CHILD]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-exit-early-"));
  });

  afterAll(() => {
    compiled?.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the child; the ids of the lines in its file, and the file's mode. */
  async function run(how: "exit" | "throw", count: number) {
    const file = path.join(dir, "logs", `${how}-${count}.ndjson`); // a folder to create too
    const exit = await new Promise<number | null>((resolve) => {
      execFile(process.execPath, [compiled.file(CHILD), file, how, String(count)], (error) =>
        resolve(error === null ? 0 : (error.code as number | null)),
      );
    });
    const ids = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => (JSON.parse(line) as { audit: { eventId: string } }).audit.eventId);
    return { exit, ids, mode: fs.statSync(file).mode & 0o777 };
  }

  const ids = (count: number) => Array.from({ length: count }, (_, i) => `evt-${i}`);

  // 5000 lines of ~1.5 KB: well below maxBufferedBytes, which bounds what waits when the loop never turns.
  it("writes every line when the process calls process.exit", async () => {
    expect(await run("exit", 3)).toStrictEqual({ exit: 0, ids: ids(3), mode: 0o600 });
    expect(await run("exit", 5000)).toStrictEqual({ exit: 0, ids: ids(5000), mode: 0o600 });
  });

  it("writes every line when the process dies of an uncaught exception", async () => {
    expect(await run("throw", 3)).toStrictEqual({ exit: 1, ids: ids(3), mode: 0o600 });
  });
});

// The file is opened at once only when it is a regular one: a FIFO nobody reads yet would block there.
describe("a log emitter on a FIFO path", () => {
  it("is created before anyone reads the FIFO, and writes to it once someone does", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-fifo-"));
    try {
      const fifo = path.join(dir, "audit.fifo");
      expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
      const emitter = createLogEmitter({ destination: fifo });
      expect(emitter.emit({ ...sampleEvent(), eventId: "evt-0" })).toBe("accepted");
      const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        expect(await emitter.close()).toStrictEqual({
          ok: true,
          results: [{ emitter: "log", status: "ok" }],
        });
        const line = fs.readFileSync(reader, "utf8");
        expect((JSON.parse(line) as { audit: { eventId: string } }).audit.eventId).toBe("evt-0");
      } finally {
        fs.closeSync(reader);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
