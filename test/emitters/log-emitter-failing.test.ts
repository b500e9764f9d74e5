import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmitterStats, FlushReport } from "../../src/emitters/emitter.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { sampleEvent } from "../helpers/events.js";

// A real process on a real destination where every write fails: /dev/full answers ENOSPC.
describe("a log emitter whose destination fails every write", () => {
  const CHILD = "test/emitters/fixtures/log-full-child.ts";
  let compiled: Compiled;

  beforeAll(() => {
    compiled = compile([CHILD]);
  });

  afterAll(() => {
    compiled?.remove();
  });

  it("lets the process exit after close() reported the failure", async () => {
    const child = spawn(process.execPath, [compiled.file(CHILD), "/dev/full", "100"], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const exited = once(child, "exit") as Promise<[number | null, string | null]>;
    const message = once(child, "message") as Promise<[{ closed: FlushReport; stats: EmitterStats }]>;
    // pino's exit hook retried the failed write every 100 ms for ever: a hung child fails the test.
    const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      const [[report], [code, signal]] = await Promise.all([message, exited]);
      expect(report.closed.ok).toBe(false);
      expect(report.closed.results[0]?.status).toBe("error");
      // Every event was accepted before the first write failed: all given up on close(), each counted.
      expect(report.stats).toStrictEqual({
        name: "log",
        emitted: 100,
        dropped: { destination_failed: 100 },
        failed: 0,
      });
      expect({ code, signal }).toStrictEqual({ code: 0, signal: null });
    } finally {
      clearTimeout(guard);
      child.kill("SIGKILL");
    }
  });
});

describe("a synchronous log emitter whose destination fails every write", () => {
  it("returns failed for each event, counts each once, reports the run once, and holds no failed line back", async () => {
    const errors: Error[] = [];
    const emitter = createLogEmitter({
      destination: "/dev/full",
      sync: true,
      maxBufferedBytes: 100_000, // a few hundred lines: failed lines held back would soon fill it
      onError: (error) => errors.push(error),
    });
    const outcomes = new Set<string>();
    for (let i = 0; i < 1000; i++) outcomes.add(emitter.emit({ ...sampleEvent(), eventId: `evt-${i}` }));

    expect([...outcomes]).toStrictEqual(["failed"]);
    expect(errors).toHaveLength(1); // as asynchronously: once per run of failed writes, not per event
    expect(errors[0]?.cause).toMatchObject({ code: "ENOSPC" });
    // Nothing is held to be retried: flush() and close() write nothing and count nothing more.
    expect(await emitter.flush()).toStrictEqual({ ok: true, results: [{ emitter: "log", status: "ok" }] });
    expect(await emitter.close()).toStrictEqual({ ok: true, results: [{ emitter: "log", status: "ok" }] });
    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 0, dropped: {}, failed: 1000 });
    expect(errors).toHaveLength(1);
  });
});
