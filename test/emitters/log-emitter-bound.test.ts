import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmitterStats } from "../../src/emitters/emitter.js";
import { LOG_EMITTER_DEFAULTS } from "../../src/emitters/log-emitter.js";
import { type Compiled, compile } from "./delivery/compile.js";

interface ChildReport {
  stats: EmitterStats;
  errors: string[];
  /** Peak resident memory in bytes before the first event and after the last. */
  before: number;
  after: number;
}

const MiB = 1024 * 1024;

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
  async function runChild(count: number): Promise<ChildReport> {
    const child = spawn(process.execPath, [compiled.file(CHILD), String(count)], {
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

  it("keeps its memory within the documented bound and counts every event as emitted or dropped", async () => {
    const EVENTS = 200_000;
    const { stats, errors, before, after } = await runChild(EVENTS);

    expect(stats.failed).toBe(0);
    expect(Object.keys(stats.dropped)).toStrictEqual(["buffer_full"]);
    const dropped = stats.dropped.buffer_full ?? 0;
    expect(dropped).toBeGreaterThan(0);
    expect(stats.emitted + dropped).toBe(EVENTS);
    // One report for the whole overload, not one per event.
    expect(errors).toStrictEqual([
      `log: dropping events (buffer_full): ${LOG_EMITTER_DEFAULTS.maxBufferedBytes} bytes wait for a destination that does not keep up; counted in stats() until it catches up`,
    ]);
    // The lines of 200,000 events are over 100 MiB; the backlog may hold the limit, and the rest is
    // room for garbage not yet collected.
    expect(after - before).toBeLessThan(LOG_EMITTER_DEFAULTS.maxBufferedBytes + 64 * MiB);
  });
});
