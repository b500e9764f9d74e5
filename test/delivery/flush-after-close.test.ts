/**
 * flush() resolves ok only once every event accepted before it was delivered or dropped. Events that
 * close() left in the spool file are neither: a flush() waiting while close() ran used to resolve ok
 * (pending 0) as soon as anything re-checked it after the spool file closed, and a flush() after
 * close() resolved ok at once. Both report those events as pending now, as soon as close() is done.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { createFakeSink } from "../helpers/fake-sink.js";
import { eventSize, numberedEvent, settle, tempDir } from "./helpers.js";

/** Longer than any test runs: a flush() that answers only at its timeout never answers here. */
const NEVER_MS = 2_147_483_647;
const STILL_WAITING = "still waiting";

/** What `flush` resolved to, or STILL_WAITING if it has not resolved within a few turns of the event loop. */
const answered = <T>(flush: Promise<T>) => Promise.race([flush, settle().then(() => STILL_WAITING)]);

let spoolPath: string;
let removeDir: () => void;

beforeEach(() => {
  const temp = tempDir("flush-after-close");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(() => {
  removeDir();
});

describe("flush() and the events close() left in the spool", () => {
  it("a flush() waiting while close() ran reports them pending when close() is done", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({
      sink,
      flushIntervalMs: 0,
      // Room for one event: close() keeps the first and drops the other two (spool_full).
      spool: { path: spoolPath, maxBytes: eventSize() + 10 },
    });
    for (let n = 1; n <= 3; n++) emitter.emit(numberedEvent(n));
    const flushing = emitter.flush({ timeoutMs: NEVER_MS });

    expect(await emitter.close({ timeoutMs: 20 })).toMatchObject({ spooled: 1, dropped: 2, pending: 1 });

    expect(await answered(flushing)).toMatchObject({ ok: false, pending: 1 });
  });

  it("a flush() after close() reports them pending", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath } });
    for (let n = 1; n <= 3; n++) emitter.emit(numberedEvent(n));
    expect(await emitter.close({ timeoutMs: 20 })).toMatchObject({ spooled: 3, pending: 3 });

    // At once: nothing will change.
    expect(await answered(emitter.flush({ timeoutMs: NEVER_MS }))).toMatchObject({ ok: false, pending: 3 });
  });

  it("a flush() after a close() that delivered everything is ok", async () => {
    const sink = createFakeSink();
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath } });
    for (let n = 1; n <= 3; n++) emitter.emit(numberedEvent(n));
    expect(await emitter.close({ timeoutMs: 1000 })).toMatchObject({ ok: true, delivered: 3, pending: 0 });

    expect(await emitter.flush({ timeoutMs: 10_000 })).toMatchObject({ ok: true, pending: 0 });
  });
});
