import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emitter, EmitterStats, FlushReport } from "../../src/emitters/emitter.js";
import { createLogEmitter, LOG_EMITTER_DEFAULTS } from "../../src/emitters/log-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { sampleEvent } from "../helpers/events.js";

interface ChildReport {
  accepted: number;
  flushed: FlushReport;
  closed: FlushReport;
  /** Ticks of a 5 ms interval timer during flush() and during close(). */
  flushTicks: number;
  closeTicks: number;
  stats: EmitterStats;
}

let root: string;
let dir: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-log-flush-"));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(root, "test-"));
});

const timeoutReport = (pending: number): FlushReport => ({
  ok: false,
  results: [{ emitter: "log", status: "timeout", pending }],
  pending,
});

/** The event ids of the complete JSON lines in `text` (a line cut short at the end is not one). */
function idsIn(text: string): string[] {
  const lines = text.split("\n").slice(0, -1);
  return lines.map((line) => (JSON.parse(line) as { audit: { eventId: string } }).audit.eventId);
}

function emitMany(emitter: Emitter, count: number): void {
  for (let i = 0; i < count; i++)
    expect(emitter.emit({ ...sampleEvent(), eventId: `evt-${i}` })).toBe("accepted");
}

const ids = (count: number) => Array.from({ length: count }, (_, i) => `evt-${i}`);

// Real processes, a real pipe (a FIFO, so that nothing reads it until the child is gone and the test
// can then read exactly what the child wrote).
describe("flush() and close() on a pipe nobody reads", () => {
  const CHILD = "test/emitters/fixtures/log-flush-child.ts";
  const EVENTS = 2000; // ~2 MB of lines: far more than a pipe holds (64 KiB), far less than maxBufferedBytes
  let compiled: Compiled;

  beforeAll(() => {
    compiled = compile([CHILD]);
  });

  afterAll(() => {
    compiled?.remove();
  });

  /**
   * Runs the child with its stdout on a FIFO that is not read while it runs; returns its report,
   * whether it exited on its own once its event loop ran dry (given `exitWithinMs` to do so, else it
   * is killed), and the text it wrote into the FIFO.
   */
  async function runChild(how: "blocking" | "nonblocking" | "logger", exitWithinMs = 0) {
    const fifo = path.join(dir, "stdout.fifo");
    await new Promise((resolve, reject) => spawn("mkfifo", [fifo]).on("exit", resolve).on("error", reject));
    // The reader is opened first (without blocking) so that opening the writer does not wait.
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const writer = fs.openSync(fifo, "w");
    const child = spawn(process.execPath, [compiled.file(CHILD), how, String(EVENTS), "200"], {
      stdio: ["ignore", writer, "inherit", "ipc"],
    });
    fs.closeSync(writer);
    const exited = once(child, "exit") as Promise<[number | null, string | null]>;
    try {
      const guard = setTimeout(() => child.kill("SIGKILL"), 20_000); // a hung child fails the test
      const [report] = (await Promise.race([
        once(child, "message"),
        exited.then(([code, signal]) => Promise.reject(new Error(`child exited: ${code ?? signal}`))),
      ])) as [ChildReport];
      // Whatever it does meanwhile, the pipe is not read before it is gone.
      const timer = setTimeout(() => child.kill("SIGKILL"), exitWithinMs);
      const [code, signal] = await exited;
      clearTimeout(timer);
      clearTimeout(guard);
      return { report, exitedOnItsOwn: code === 0 && signal === null, text: readAll(reader) };
    } finally {
      child.kill("SIGKILL");
      fs.closeSync(reader);
    }
  }

  /** Everything in the FIFO, once no writer is left. */
  function readAll(fd: number): string {
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(64 * 1024);
    for (let n = fs.readSync(fd, buffer); n > 0; n = fs.readSync(fd, buffer)) {
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  for (const how of ["nonblocking", "logger"] as const) {
    const what = how === "logger" ? "pino's default logger" : "descriptor 1 opened by the emitter";
    it(`reports timeout and exactly the events not in the pipe, with a responsive event loop, on ${what}`, async () => {
      const { report, text } = await runChild(how);

      const written = idsIn(text);
      expect(written).toStrictEqual(ids(written.length)); // in order, none lost before them
      expect(written.length).toBeGreaterThan(0);
      const pending = report.accepted - written.length;
      expect(pending).toBeGreaterThan(0);
      expect(report.flushed).toStrictEqual(timeoutReport(pending));
      expect(report.closed).toStrictEqual(timeoutReport(pending));
      expect(report.flushTicks).toBeGreaterThan(0);
      expect(report.closeTicks).toBeGreaterThan(0);
      expect(report.stats).toStrictEqual({ name: "log", emitted: EVENTS, dropped: {}, failed: 0 });
    });
  }

  it("lets the process exit after close() gave up on a non-blocking pipe it owns", async () => {
    const { report, exitedOnItsOwn } = await runChild("nonblocking", 5000);

    expect(report.closed.ok).toBe(false);
    expect(exitedOnItsOwn).toBe(true);
  });

  // A write the OS took in part and never returned from is counted whole: an upper bound.
  it("reports timeout and at least the events not in the pipe, with a responsive event loop, on a blocking pipe", async () => {
    const { report, text } = await runChild("blocking");

    const written = idsIn(text);
    expect(written).toStrictEqual(ids(written.length));
    const pending = report.flushed.pending ?? 0;
    expect(pending).toBeGreaterThanOrEqual(report.accepted - written.length);
    expect(pending).toBeLessThanOrEqual(report.accepted);
    expect(report.flushed).toStrictEqual(timeoutReport(pending));
    expect(report.closed).toStrictEqual(timeoutReport(pending));
    expect(report.flushTicks).toBeGreaterThan(0);
    expect(report.closeTicks).toBeGreaterThan(0);
  });
});

describe("log emitter flushTimeoutMs", () => {
  it("defaults to 30000, the delivery emitter's flush timeout", () => {
    expect(LOG_EMITTER_DEFAULTS.flushTimeoutMs).toBe(30_000);
  });

  it("reports timeout without a count on a stream whose flush never calls back", async () => {
    const destination = { write: () => true, flush: () => {} };
    const emitter = createLogEmitter({ destination, flushTimeoutMs: 50 });
    emitMany(emitter, 3);

    const timedOut: FlushReport = { ok: false, results: [{ emitter: "log", status: "timeout" }] };
    expect(await emitter.flush()).toStrictEqual(timedOut);
    expect(await emitter.close()).toStrictEqual(timedOut);
  });

  it("writes out what a pino.destination with minLength holds below it", async () => {
    const file = path.join(dir, "audit.ndjson");
    const destination = pino.destination({ dest: file, sync: false, minLength: 4096 });
    await once(destination, "ready");
    const emitter = createLogEmitter({ logger: pino(destination) });
    emitMany(emitter, 3);

    expect((await emitter.flush()).ok).toBe(true);
    expect(idsIn(fs.readFileSync(file, "utf8"))).toStrictEqual(ids(3));
    expect((await emitter.close()).ok).toBe(true);
    destination.end();
  });

  it("writes out the pino.destination streams of a multistream", async () => {
    const files = [path.join(dir, "a.ndjson"), path.join(dir, "b.ndjson")];
    const destinations = files.map((dest) => pino.destination({ dest, sync: false }));
    const emitter = createLogEmitter({
      logger: pino({}, pino.multistream(destinations.map((stream) => ({ stream })))),
    });
    emitMany(emitter, 1000);

    expect((await emitter.flush()).ok).toBe(true);
    for (const file of files) expect(idsIn(fs.readFileSync(file, "utf8"))).toStrictEqual(ids(1000));
    for (const destination of destinations) destination.end();
  });

  describe("throws an AuditConfigError for a timeout that is not a number of ms ≥ 0", () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, "30s"]) {
      it(`for ${String(bad)}`, () => {
        const build = () =>
          createLogEmitter({ destination: path.join(dir, "audit.ndjson"), flushTimeoutMs: bad as number });
        expect(build).toThrow(
          new AuditConfigError(`log emitter: flushTimeoutMs must be a number of ms ≥ 0, got ${String(bad)}`),
        );
      });
    }
  });
});
