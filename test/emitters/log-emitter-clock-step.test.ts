/**
 * A wall clock that steps back while the log emitter closes does not stretch its wait for the file to
 * close: the deadline is on a monotonic clock.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { recordTimerDelays, stepWallClockBack } from "../helpers/clock-step.js";
import { sampleEvent } from "../helpers/events.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-log-clock-"));

afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

it("keeps close()'s waits within flushTimeoutMs when the wall clock steps back during it", async () => {
  const file = path.join(dir, "audit.ndjson");
  const emitter = createLogEmitter({ destination: file, flushTimeoutMs: 1000 });
  for (let i = 0; i < 1000; i++) emitter.emit(sampleEvent({ eventId: `e${i}` }));
  const delays = recordTimerDelays("emitters", 1000);
  const closing = emitter.close();
  stepWallClockBack(); // while the file is written out, before the wait for it to close
  expect((await closing).ok).toBe(true);
  expect(delays.length).toBeGreaterThan(1);
  expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
  expect(fs.readFileSync(file, "utf8").split("\n").filter(Boolean)).toHaveLength(1000);
});
