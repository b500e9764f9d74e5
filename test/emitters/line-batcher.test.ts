import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BATCH_CHARS,
  BATCH_MAX_WAIT_MS,
  type BatchTarget,
  LineBatcher,
  MAX_BATCH_CHARS,
} from "../../src/emitters/line-batcher.js";
import { type Compiled, compile } from "../delivery/compile.js";

/** Stands in for SonicBoom: records each string handed to it, or throws while `failing` is set. */
class RecordingSonic implements BatchTarget {
  writes: string[] = [];
  failing: Error | undefined;
  _writing = false;
  write(data: string): boolean {
    if (this.failing !== undefined) throw this.failing;
    this.writes.push(data);
    return true;
  }
  flushSync(): void {}
}

function batcherOver(sonic: RecordingSonic, errors: unknown[] = []): LineBatcher {
  return new LineBatcher(sonic, (error) => errors.push(error));
}

describe("LineBatcher", () => {
  it("hands lines on in order, joined into batches of at least BATCH_CHARS characters", () => {
    const sonic = new RecordingSonic();
    const batcher = batcherOver(sonic);
    const lines = Array.from({ length: 200 }, (_, i) => `${JSON.stringify({ i, pad: "x".repeat(150) })}\n`);
    for (const line of lines) batcher.write(line);
    const whileWriting = sonic.writes.length;
    batcher.stop();

    expect(sonic.writes.join("")).toBe(lines.join(""));
    expect(whileWriting).toBeGreaterThan(1);
    expect(whileWriting).toBeLessThan(lines.length / 10);
    for (const batch of sonic.writes.slice(0, whileWriting)) {
      expect(batch.length).toBeGreaterThanOrEqual(BATCH_CHARS);
      expect(batch.length).toBeLessThan(BATCH_CHARS + 200);
    }
  });

  it("keeps gathering while SonicBoom is still writing, then hands everything over as one string", async () => {
    const sonic = new RecordingSonic();
    const batcher = batcherOver(sonic);
    const lines = Array.from({ length: 300 }, (_, i) => `${JSON.stringify({ i, pad: "x".repeat(150) })}\n`);
    sonic._writing = true;
    for (const line of lines.slice(0, 299)) batcher.write(line);
    await new Promise((resolve) => setTimeout(resolve, BATCH_MAX_WAIT_MS + 150)); // the timer waits too
    expect(sonic.writes).toEqual([]);
    expect(batcher.waitingChars).toBe(lines.slice(0, 299).join("").length);

    sonic._writing = false;
    batcher.write(lines[299] ?? "");
    expect(sonic.writes).toEqual([lines.join("")]);
    expect(batcher.waitingChars).toBe(0);
    batcher.stop();
  });

  it("hands a gathered backlog over once it reaches MAX_BATCH_CHARS, even while SonicBoom is writing", () => {
    const sonic = new RecordingSonic();
    const batcher = batcherOver(sonic);
    const line = `${"x".repeat(1 << 20)}\n`;
    const count = Math.ceil(MAX_BATCH_CHARS / line.length);
    sonic._writing = true;
    for (let i = 0; i < count - 1; i++) batcher.write(line);
    expect(sonic.writes).toHaveLength(0);
    batcher.write(line);
    expect(sonic.writes.map((text) => text.length)).toStrictEqual([count * line.length]);
    expect(batcher.waitingChars).toBe(0);
    batcher.stop();
  });

  it("hands a lone line on within BATCH_MAX_WAIT_MS without a flush", async () => {
    const sonic = new RecordingSonic();
    const batcher = batcherOver(sonic);
    batcher.write("one\n");
    expect(sonic.writes).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, BATCH_MAX_WAIT_MS + 150));
    expect(sonic.writes).toEqual(["one\n"]);
    batcher.stop();
  });

  it("reports what a failed hand-over threw and goes on with the next batch", () => {
    const sonic = new RecordingSonic();
    const errors: unknown[] = [];
    const batcher = batcherOver(sonic, errors);
    sonic.failing = new Error("SonicBoom destroyed");
    batcher.write("lost\n");
    batcher.release();
    sonic.failing = undefined;
    batcher.write("kept\n");
    batcher.stop();
    expect(errors).toEqual([sonic.failing ?? new Error("SonicBoom destroyed")]);
    expect(sonic.writes).toEqual(["kept\n"]);
  });
});

// Real processes, real files: what a log emitter gathered but was never asked to flush still reaches
// the file when the process ends.
describe("a log emitter that owns its file, never closed", () => {
  const CHILD = "test/emitters/fixtures/log-exit-child.ts";
  let compiled: Compiled;
  let dir: string;

  beforeAll(() => {
    compiled = compile([CHILD]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-batcher-"));
  });

  afterAll(() => {
    compiled?.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function linesAfter(how: "exit" | "end", count: number): Promise<string[]> {
    const file = path.join(dir, `${how}-${count}.ndjson`);
    await promisify(execFile)(process.execPath, [compiled.file(CHILD), file, how, String(count)]);
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => (JSON.parse(line) as { audit: { eventId: string } }).audit.eventId);
  }

  const expected = (count: number) => ["first", ...Array.from({ length: count }, (_, i) => `evt-${i}`)];

  it("writes every line when the process calls process.exit right after emitting", async () => {
    expect(await linesAfter("exit", 3)).toEqual(expected(3));
    expect(await linesAfter("exit", 500)).toEqual(expected(500));
  });

  it("writes every line when the process ends on its own", async () => {
    expect(await linesAfter("end", 3)).toEqual(expected(3));
    expect(await linesAfter("end", 500)).toEqual(expected(500));
  });
});
