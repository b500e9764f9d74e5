/**
 * Recorder.close() flushes its emitters itself when their queue refused the final checkpoint, then
 * closes them. That flush's report was dropped: an event refused for good during it (a NATS stream's
 * max_msg_size) was in the emitter's counts, not in the close report, which said ok with dropped 0
 * (the emitter's close counts only what its own drain did). A flush during close that is not ok
 * makes the close report not ok, with its status and error.
 */
import { generateKeyPairSync } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { SAMPLE_IDS, sampleEvent } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { readStream } from "../nats/stream-reader.js";

const nc = useNatsServer();

it("reports the event its flush saw the stream refuse as too large", async () => {
  const jsm = await jetstreamManager(nc());
  // Made before the stream gets its small max_msg_size: it reads none, so the stream refuses on write.
  await jsm.streams.add({ name: "REC_SMALL", subjects: ["rec.>"] });
  const broker = await createNatsBroker({ connection: nc(), stream: "REC_SMALL" });
  await jsm.streams.update("REC_SMALL", { max_msg_size: 1500 });
  const nats = createBrokerEmitter({
    broker,
    topic: "rec.events",
    delivery: { maxQueueEvents: 2, maxBatchEvents: 2 },
  });
  const { privateKey } = generateKeyPairSync("ed25519");
  const recorder = createRecorder({
    service: "svc",
    emitters: [nats],
    chain: { signingKey: privateKey, keyId: "k1" },
  });
  // Two events accepted before close(): the queue is full when close() writes its final checkpoint.
  expect(nats.emit(sampleEvent({ kind: "authn" }))).toBe("accepted");
  expect(nats.emit(sampleEvent({ eventId: "evt-big", operation: `/a.B/${"x".repeat(4000)}` }))).toBe(
    "accepted",
  );

  const report = await recorder.close();

  expect(report).toStrictEqual({
    ok: false,
    results: [
      {
        emitter: "nats:rec.events",
        status: "error",
        error: new AuditEmitError("nats:rec.events", "flush dropped 1 event (too_large 1)"),
        pending: 0,
      },
    ],
    pending: 0,
    // The emitter's close: the final checkpoint, written after the flush.
    delivered: 1,
    spooled: 0,
    dropped: 0,
  });
  const stored = await readStream(nc(), "REC_SMALL");
  expect(stored).toHaveLength(2);
  expect(stored[0]?.headers["Nats-Msg-Id"]).toBe(SAMPLE_IDS.authn);
});
