import { fork } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Compiled, compile } from "./compile.js";

// The measurement runs in a child process of its own: a vitest worker's heap moves too much for a
// bound of a few megabytes. The child is the benchmark bench/delivery-memory.bench.ts, run for 5 s
// (the full 30 s run is `node dist-bench/bench/delivery-memory.bench.js`).

const BENCH = "bench/delivery-memory.bench.ts";
const QUEUE_BYTES = 4 * 1024 * 1024;

let compiled: Compiled;

beforeAll(() => {
  compiled = compile([BENCH]);
});

afterAll(() => compiled?.remove());

interface MemoryResult {
  maxQueueBytes: number;
  queueBytes: number;
  accepted: number;
  dropped: Record<string, number>;
  maxGrowthBytes: number;
  limitBytes: number;
}

describe("memory behind a hung sink", () => {
  it("keeps heap growth within maxQueueBytes + 20 % under 5,000 events/s", async () => {
    const child = fork(compiled.file(BENCH), [], {
      execArgv: [],
      env: {
        ...process.env,
        BENCH_DELIVERY_DURATION_MS: "5000",
        BENCH_DELIVERY_RATE: "5000",
        BENCH_DELIVERY_QUEUE_BYTES: String(QUEUE_BYTES),
      },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const [result] = (await once(child, "message")) as [MemoryResult];
    await once(child, "exit");

    // The queue really filled up, so the bound was exercised...
    expect(result.queueBytes).toBeGreaterThan(QUEUE_BYTES * 0.95);
    expect(result.dropped.queue_full).toBeGreaterThan(0);
    // ... and the heap grew by no more than the queue's bytes plus 20 %.
    expect(result.maxGrowthBytes).toBeLessThanOrEqual(result.limitBytes);
    expect(result.limitBytes).toBe(Math.floor(QUEUE_BYTES * 1.2));
  });
});
