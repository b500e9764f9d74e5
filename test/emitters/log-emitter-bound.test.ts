import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emitter, EmitterStats } from "../../src/emitters/emitter.js";
import { createLogEmitter, LOG_EMITTER_DEFAULTS } from "../../src/emitters/log-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { sampleEvent } from "../helpers/events.js";

interface ChildReport {
  stats: EmitterStats;
  errors: string[];
  /** Peak resident memory in bytes before the first event and after the last. */
  before: number;
  after: number;
}

const MiB = 1024 * 1024;
const OVERLOAD = (limit: number) =>
  `log: dropping events (buffer_full): ${limit} bytes wait for a destination that does not keep up; counted in stats() until it catches up`;

let root: string;
let dir: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-log-bound-"));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(root, "test-"));
});

/** Emits `count` copies of the sample event with ids "evt-<from>", ...; returns the ids accepted. */
function emitMany(emitter: Emitter, count: number, from = 0): string[] {
  const base = sampleEvent();
  const accepted: string[] = [];
  for (let i = from; i < from + count; i++) {
    const eventId = `evt-${i}`;
    if (emitter.emit({ ...base, eventId }) === "accepted") accepted.push(eventId);
  }
  return accepted;
}

/** The event ids of the JSON lines in `text`. */
function idsIn(text: string): string[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { audit: { eventId: string } }).audit.eventId);
}

/**
 * A Writable that takes every write at once until `stall()`, then holds them until `resume()`; keeps
 * what was written (or only counts its lines).
 */
function stallableWritable(keepText = true) {
  let held: (() => void) | undefined;
  let stalled = false;
  let text = "";
  let lines = 0;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const written = chunk.toString();
      lines += written.split("\n").length - 1;
      if (keepText) text += written;
      if (stalled) held = callback;
      else callback();
    },
  });
  return {
    stream,
    text: () => text,
    lines: () => lines,
    stall: () => {
      stalled = true;
    },
    resume: () => {
      stalled = false;
      const callback = held;
      held = undefined;
      callback?.();
    },
  };
}

describe("log emitter maxBufferedBytes", () => {
  it("drops nothing when the destination keeps up: 200,000 events in one loop into a fast stream", async () => {
    const sink = stallableWritable(false);
    const emitter = createLogEmitter({ destination: sink.stream });

    expect(emitMany(emitter, 200_000)).toHaveLength(200_000);
    await emitter.close();

    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 200_000, dropped: {}, failed: 0 });
    expect(sink.lines()).toBe(200_000);
  });

  it("drops nothing on a file it owns when each burst below the limit is written out before the next", async () => {
    const file = path.join(dir, "audit.ndjson");
    const emitter = createLogEmitter({ destination: file, maxBufferedBytes: 1024 * 1024 });

    // 40 bursts of ~450 KiB: together over ten times the limit, each well below it.
    let accepted = 0;
    for (let burst = 0; burst < 40; burst++) {
      accepted += emitMany(emitter, 500, burst * 500).length;
      expect((await emitter.flush()).ok).toBe(true);
    }
    await emitter.close();

    expect(accepted).toBe(20_000);
    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 20_000, dropped: {}, failed: 0 });
    expect(idsIn(fs.readFileSync(file, "utf8"))).toHaveLength(20_000);
  });

  describe("beyond the limit, writes exactly the events it counts as emitted and drops the rest", () => {
    const LIMIT = 1024 * 1024;
    const EVENTS = 20_000; // ~19 MB of lines in one loop: no asynchronous write completes meanwhile

    it("on a file it owns", async () => {
      const file = path.join(dir, "audit.ndjson");
      const errors: string[] = [];
      const emitter = createLogEmitter({
        destination: file,
        maxBufferedBytes: LIMIT,
        onError: (error) => errors.push(error.message),
      });

      const accepted = emitMany(emitter, EVENTS);
      await emitter.close();

      const { emitted, dropped } = emitter.stats();
      expect(emitted).toBe(accepted.length);
      expect(dropped.buffer_full).toBeGreaterThan(0);
      expect(emitted + (dropped.buffer_full ?? 0)).toBe(EVENTS);
      expect(idsIn(fs.readFileSync(file, "utf8"))).toStrictEqual(accepted);
      expect(errors).toStrictEqual([OVERLOAD(LIMIT)]);
    });

    it("on the user's logger with an asynchronous pino.destination", async () => {
      const file = path.join(dir, "audit.ndjson");
      const destination = pino.destination({ dest: file, sync: false });
      await once(destination, "ready");
      const emitter = createLogEmitter({ logger: pino(destination), maxBufferedBytes: LIMIT });

      const accepted = emitMany(emitter, EVENTS);
      await emitter.close();
      destination.end();
      await once(destination, "close");

      const { emitted, dropped } = emitter.stats();
      expect(emitted).toBe(accepted.length);
      expect(dropped.buffer_full).toBeGreaterThan(0);
      expect(emitted + (dropped.buffer_full ?? 0)).toBe(EVENTS);
      expect(idsIn(fs.readFileSync(file, "utf8"))).toStrictEqual(accepted);
    });
  });

  it("reports once per overload, and again for a new one after the destination caught up", async () => {
    const sink = stallableWritable();
    const errors: string[] = [];
    const LIMIT = 64 * 1024;
    const emitter = createLogEmitter({
      destination: sink.stream,
      maxBufferedBytes: LIMIT,
      onError: (error) => errors.push(error.message),
    });

    sink.stall();
    const first = emitMany(emitter, 1000, 0);
    expect(errors).toStrictEqual([OVERLOAD(LIMIT)]);
    sink.resume();
    await new Promise((resolve) => setImmediate(resolve));
    const between = emitMany(emitter, 10, 1000);
    expect(between).toHaveLength(10);
    sink.stall();
    const second = emitMany(emitter, 1000, 2000);
    sink.resume();
    await emitter.close();

    expect(errors).toStrictEqual([OVERLOAD(LIMIT), OVERLOAD(LIMIT)]);
    const accepted = [...first, ...between, ...second];
    expect(idsIn(sink.text())).toStrictEqual(accepted);
    expect(emitter.stats()).toStrictEqual({
      name: "log",
      emitted: accepted.length,
      dropped: { buffer_full: 2010 - accepted.length },
      failed: 0,
    });
  });

  describe("throws an AuditConfigError for a limit that is not a positive whole number of bytes", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, "16MiB"]) {
      it(`for ${String(bad)}`, () => {
        const build = () =>
          createLogEmitter({ destination: path.join(dir, "audit.ndjson"), maxBufferedBytes: bad as number });
        expect(build).toThrow(
          new AuditConfigError(
            `log emitter: maxBufferedBytes must be a positive whole number of bytes or Infinity, got ${String(bad)}`,
          ),
        );
      });
    }
  });
});

// Real processes, a real pipe: a destination nobody reads must cost bounded memory, not all of it.
describe("a log emitter writing to a pipe nobody reads", () => {
  const CHILD = "test/emitters/fixtures/log-pipe-child.ts";
  let compiled: Compiled;

  beforeAll(() => {
    compiled = compile([CHILD]);
  });

  afterAll(() => {
    compiled?.remove();
  });

  /** Runs the child with `count` events and returns what it reports; its stdout is never read. */
  async function runChild(count: number, how: "destination" | "logger"): Promise<ChildReport> {
    const child = spawn(process.execPath, [compiled.file(CHILD), String(count), how], {
      stdio: ["ignore", "pipe", "inherit", "ipc"],
    });
    try {
      const [message] = (await Promise.race([
        once(child, "message"),
        once(child, "exit").then(([code]) => Promise.reject(new Error(`child exited with ${code}`))),
      ])) as [ChildReport];
      return message;
    } finally {
      child.kill("SIGKILL");
    }
  }

  for (const how of ["destination", "logger"] as const) {
    const what = how === "destination" ? "descriptor 1 opened by the emitter" : "pino's default logger";
    it(`keeps memory within the documented bound and counts every event, on ${what}`, async () => {
      const EVENTS = 200_000;
      const { stats, errors, before, after } = await runChild(EVENTS, how);

      expect(stats.failed).toBe(0);
      expect(Object.keys(stats.dropped)).toStrictEqual(["buffer_full"]);
      const dropped = stats.dropped.buffer_full ?? 0;
      expect(dropped).toBeGreaterThan(0);
      expect(stats.emitted + dropped).toBe(EVENTS);
      // One report for the whole overload, not one per event.
      expect(errors).toStrictEqual([OVERLOAD(LOG_EMITTER_DEFAULTS.maxBufferedBytes)]);
      // The lines of 200,000 events are over 180 MiB (unbounded, the child grew by 220–320 MiB). The
      // backlog (up to the limit) can be in memory twice, as a string and as the Buffer of the write
      // that is stuck; the rest is room for garbage not yet collected (~25 MiB here).
      expect(after - before).toBeLessThan(2 * LOG_EMITTER_DEFAULTS.maxBufferedBytes + 64 * MiB);
    });
  }
});
