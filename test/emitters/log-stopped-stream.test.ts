// A log emitter on a stream of yours (a `logger`'s, a `destination` stream) that stops taking lines for
// good without a word to the emitter: pino swallows a broken pipe (EPIPE) and turns the stream's writes
// into no-ops; a destroyed stream drops what is written to it. The emitter notices, refuses later
// events, counts what the stream held as lost, and flush() and close() answer at once.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EmitterStats, FlushReport } from "../../src/emitters/emitter.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { sampleEvent } from "../helpers/events.js";

/** An error as the child sends it. */
interface ShownError {
  message: string;
  cause: { message?: string; code?: string };
}

interface ChildReport {
  /** The code of the write error pino swallowed. */
  epipe: string;
  flushed: FlushReport;
  closed: FlushReport;
  errors: ShownError[];
  /** The emitter's stats, or the Recorder's (which hold the emitter's). */
  stats: EmitterStats & { accepted?: number; emitter?: EmitterStats };
}

/** Events written before the reader goes, held by the stream when it breaks, and emitted after. */
const ROUNDS = { written: 20, held: 50, after: 30 };
/** Far longer than any answer takes here: a flush that waits for it reports "timeout". */
const LARGE_FLUSH_TIMEOUT_MS = 20_000;
/** Room for a child whose flush() and close() each wait out their timeout, so that it fails by assertion. */
const TEST_TIMEOUT_MS = 120_000;

const BROKEN_PIPE = {
  message: "log: destination write failed",
  cause: {
    message: "pino stopped writing to the stream after a broken pipe (EPIPE: its reader went away)",
    code: "EPIPE",
  },
};
const gaveUp = (count: number) =>
  `log: close failed: dropped ${count} events (destination_failed ${count}): the destination failed and what it held is given up`;

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-log-stopped-"));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

// Real processes and a real pipe (a FIFO): the child writes through `pino()` on stdout, `head` reads it.
describe("a log emitter on pino's default logger whose stdout reader goes away (`| head`)", () => {
  const CHILD = "test/emitters/fixtures/log-broken-pipe-child.ts";
  let compiled: Compiled;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    compiled = compile([CHILD]);
  });

  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  afterAll(() => {
    compiled?.remove();
  });

  /**
   * Runs the child with its stdout a pipe `head -n <written>` reads: once head has read the first
   * round and exited, the child writes the rest. Returns the lines head read and the child's report.
   */
  async function runChild(how: "emitter" | "recorder"): Promise<{ read: string[]; report: ChildReport }> {
    const fifo = path.join(dir, "stdout.fifo");
    execFileSync("mkfifo", [fifo]);
    // Opened together: opening one end of a FIFO waits for the other.
    const [readEnd, writeEnd] = await Promise.all([fs.promises.open(fifo, "r"), fs.promises.open(fifo, "w")]);
    const head = spawn("head", ["-n", String(ROUNDS.written)], { stdio: [readEnd.fd, "pipe", "inherit"] });
    children.push(head);
    const headRead = linesOf(head);
    const args = [ROUNDS.written, ROUNDS.held, ROUNDS.after, LARGE_FLUSH_TIMEOUT_MS].map(String);
    const child = spawn(process.execPath, [compiled.file(CHILD), how, ...args], {
      stdio: ["ignore", writeEnd.fd, "inherit", "ipc"],
    });
    children.push(child);
    const childClosed = once(child, "close");
    // From here head is the pipe's only reader and the child its only writer.
    await readEnd.close();
    await writeEnd.close();
    const next = messages(child);

    const { written } = (await next()) as { written: FlushReport };
    expect(written.ok).toBe(true);
    const { lines: read, code } = await headRead;
    expect(code).toBe(0);
    child.send("the reader is gone");
    const report = (await next()) as ChildReport;
    expect(await childClosed).toStrictEqual([0, null]);
    return { read, report };
  }

  it(
    "refuses later events, counts the held ones as lost, reports once, and fails flush() and close() at once",
    async () => {
      const { read, report } = await runChild("emitter");

      expect(
        read.map((line) => (JSON.parse(line) as { audit: { eventId: string } }).audit.eventId),
      ).toStrictEqual(Array.from({ length: ROUNDS.written }, (_, i) => `written-${i}`));
      expect(report.epipe).toBe("EPIPE");
      // Every accepted event was either read or is counted as lost; every later one was refused.
      expect(report.stats).toStrictEqual({
        name: "log",
        emitted: ROUNDS.written + ROUNDS.held,
        dropped: { destination_failed: ROUNDS.held },
        failed: ROUNDS.after,
      });
      expect(report.stats.emitted).toBe(read.length + (report.stats.dropped.destination_failed ?? 0));
      // Not "timeout": neither waited for writes that never come.
      expect(report.flushed).toStrictEqual({
        ok: false,
        results: [
          {
            emitter: "log",
            status: "error",
            pending: ROUNDS.held,
            error: { message: "log: flush failed", cause: BROKEN_PIPE.cause },
          },
        ],
        pending: ROUNDS.held,
      });
      expectGaveUpHeld(report);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'through the quickstart\'s Recorder (`{ kind: "log", logger: pino() }`), close() fails at once and every event is counted',
    async () => {
      const { read, report } = await runChild("recorder");

      expect(read).toHaveLength(ROUNDS.written);
      expect(report.stats.emitter).toStrictEqual({
        name: "log",
        emitted: ROUNDS.written + ROUNDS.held,
        dropped: { destination_failed: ROUNDS.held },
        failed: ROUNDS.after,
      });
      expect(report.stats).toMatchObject({ accepted: ROUNDS.written + ROUNDS.held, failed: ROUNDS.after });
      // Its default flushTimeoutMs (30 s) is not waited out: no "timeout".
      expectGaveUpHeld(report);
    },
    TEST_TIMEOUT_MS,
  );
});

/**
 * close() gave up on the lines the broken stream held, and onError heard of the break once (not once
 * per refused event), then of what close() gave up, as for the emitter's own destination.
 */
function expectGaveUpHeld(report: { closed: unknown; errors: unknown }): void {
  const gaveUpHeld = { message: gaveUp(ROUNDS.held), cause: BROKEN_PIPE.cause };
  expect(report.closed).toStrictEqual({
    ok: false,
    results: [{ emitter: "log", status: "error", error: gaveUpHeld }],
  });
  expect(report.errors).toStrictEqual([BROKEN_PIPE, gaveUpHeld]);
}

describe("a log emitter on a stream of yours that was destroyed", () => {
  it("refuses events from then on, reports it once, and fails flush() and close() at once (a file's write stream)", async () => {
    const file = path.join(dir, "audit.ndjson");
    const destination = fs.createWriteStream(file);
    await once(destination, "open");
    const errors: Error[] = [];
    const emitter = createLogEmitter({
      destination,
      flushTimeoutMs: LARGE_FLUSH_TIMEOUT_MS,
      onError: (error) => errors.push(error),
    });

    expect(emitter.emit({ ...sampleEvent(), eventId: "before" })).toBe("accepted");
    // Written: a write stream calls back in order (pino's flush of a stream of yours does not wait).
    await new Promise((resolve) => destination.write("", resolve));
    destination.destroy();
    const after = ["a", "b", "c"].map((id) => emitter.emit({ ...sampleEvent(), eventId: id }));

    expect(after).toStrictEqual(["failed", "failed", "failed"]);
    const destroyed = { message: "the stream was destroyed", code: "ERR_STREAM_DESTROYED" };
    for (const report of [await emitter.flush(), await emitter.close()]) {
      expect(report).toStrictEqual({
        ok: false,
        results: [{ emitter: "log", status: "error", error: expect.any(Error) }],
      });
      expect(report.results[0]?.error).toMatchObject({ message: "log: flush failed", cause: destroyed });
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ message: "log: destination write failed", cause: destroyed });
    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 1, dropped: {}, failed: 3 });
    expect(fs.readFileSync(file, "utf8").split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("refuses events from then on and reports it once, not once per event (a logger on pino.destination)", async () => {
    const file = path.join(dir, "audit.ndjson");
    const stream = pino.destination({ dest: file, sync: true });
    const errors: Error[] = [];
    const emitter = createLogEmitter({ logger: pino(stream), onError: (error) => errors.push(error) });

    expect(emitter.emit({ ...sampleEvent(), eventId: "before" })).toBe("accepted");
    stream.destroy();
    const after = ["a", "b", "c"].map((id) => emitter.emit({ ...sampleEvent(), eventId: id }));

    expect(after).toStrictEqual(["failed", "failed", "failed"]);
    expect((await emitter.close()).results).toMatchObject([
      { status: "error", error: { cause: { code: "ERR_STREAM_DESTROYED" } } },
    ]);
    expect(errors.map((error) => error.message)).toStrictEqual(["log: destination write failed"]);
    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 1, dropped: {}, failed: 3 });
  });
});

/** The lines a child writes to its stdout, and its exit code, once it has ended. */
async function linesOf(child: ChildProcess): Promise<{ lines: string[]; code: number | null }> {
  let text = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    text += chunk;
  });
  const [code] = (await once(child, "close")) as [number | null];
  return { lines: text.split("\n").filter((line) => line !== ""), code };
}

/** The child's IPC messages in order; rejects when it has ended (its channel closed) before the next one. */
function messages(child: ChildProcess): () => Promise<unknown> {
  const queue: unknown[] = [];
  const waiting: ((message: unknown) => void)[] = [];
  child.on("message", (message) => {
    const take = waiting.shift();
    if (take) take(message);
    else queue.push(message);
  });
  const exited = once(child, "close").then(([code, signal]) => {
    throw new Error(`the child exited (code ${code}, signal ${signal}) before its next message`);
  });
  exited.catch(() => {}); // only an awaited next() reports it
  return () =>
    queue.length > 0
      ? Promise.resolve(queue.shift())
      : Promise.race([new Promise((resolve) => waiting.push(resolve)), exited]);
}
