import { afterEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { createRecorder } from "../../src/recorder/index.js";
import { createFakeSink } from "../helpers/fake-sink.js";

const emitters: DeliveryEmitter[] = [];

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
});

describe("pending events in flush reports", () => {
  it("reaches a Recorder's flush through a multi emitter: not ok, with the pending count", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, flushTimeoutMs: 30 });
    emitters.push(emitter);
    const recorder = createRecorder({ service: "projects", emitters: [emitter, createNoopEmitter()] });

    for (let i = 0; i < 3; i++) {
      recorder.recordResourceMutation({ mutation: "update", resourceType: "project", resourceId: "p-1" });
    }

    expect(await recorder.flush()).toStrictEqual({
      ok: false,
      results: [
        { emitter: "fake", status: "timeout", pending: 3 },
        { emitter: "noop", status: "ok" },
      ],
      pending: 3,
    });
  });
});
