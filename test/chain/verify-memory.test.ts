import { spawn } from "node:child_process";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Compiled, compile } from "../delivery/compile.js";

// The child verifies a trail streamed from a Recorder, so only what the verifier keeps grows with it.
// 200,000 events: an object per event with its hashes as strings (what verify kept before, about
// 500 bytes of heap each) needs about 100 MB of heap, past the 48 MB the child gets, and dies
// ("JavaScript heap out of memory"); packed into buffers outside the heap (about 60 bytes each) it
// fits, with room for the Recorder and the batch of events in flight.
const CHILD = "test/chain/fixtures/verify-stream-child.ts";
const EVENTS = 200_000;
const HEAP_MB = 48;

let compiled: Compiled;

beforeAll(() => {
  compiled = compile([CHILD]);
});

afterAll(() => compiled?.remove());

describe("verify's memory", () => {
  it(`verifies ${EVENTS} events in a ${HEAP_MB} MB heap: it keeps no object per event`, async () => {
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${HEAP_MB}`, compiled.file(CHILD), String(EVENTS)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null];
    // On failure, the child's last words say why ("JavaScript heap out of memory" and SIGABRT, or an error).
    expect({ code, signal, err: err.slice(0, 300) }).toStrictEqual({ code: 0, signal: null, err: "" });
    // 200 periodic checkpoints and the final one, each signed and verified.
    expect(JSON.parse(out)).toStrictEqual({
      ok: true,
      events: EVENTS + 201,
      chains: 1,
      checkpoints: 201,
      sealed: true,
      findings: 0,
    });
  }, 60_000);
});
