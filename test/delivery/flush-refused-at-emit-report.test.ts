/**
 * What a delivery emitter's flush() names as dropped: only accepted events. Events emit refused while
 * it waited (too large for maxEventBytes: emit answered "dropped", they were never accepted) were
 * named as the flush's own drops ("flush dropped 4 events (too_large 4)", one of them accepted).
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { SAMPLE_IDS, sampleEvent } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { readStream } from "../nats/stream-reader.js";

const nc = useNatsServer();

it("names the accepted event the stream refused, not the events emit refused meanwhile", async () => {
  const jsm = await jetstreamManager(nc());
  // Made before the stream gets its small max_msg_size: it reads none, so the stream refuses on write.
  await jsm.streams.add({ name: "FLUSH_REFUSED", subjects: ["refused.>"] });
  const broker = await createNatsBroker({ connection: nc(), stream: "FLUSH_REFUSED" });
  await jsm.streams.update("FLUSH_REFUSED", { max_msg_size: 1500 });
  // Events up to 3000 bytes are accepted; the stream takes 1500 at most.
  const emitter = createBrokerEmitter({
    broker,
    topic: "refused.events",
    delivery: { maxEventBytes: 3000 },
  });
  expect(emitter.emit(sampleEvent({ kind: "authn" }))).toBe("accepted");
  expect(emitter.emit(sampleEvent({ eventId: "evt-mid", operation: `/a.B/${"x".repeat(2000)}` }))).toBe(
    "accepted",
  );

  const flushing = emitter.flush();
  for (let i = 0; i < 3; i++) {
    expect(
      emitter.emit(sampleEvent({ eventId: `evt-huge-${i}`, operation: `/a.B/${"x".repeat(5000)}` })),
    ).toBe("dropped");
  }
  const report = await flushing;

  expect(report).toStrictEqual({
    ok: false,
    results: [
      {
        emitter: "nats:refused.events",
        status: "error",
        error: new AuditEmitError("nats:refused.events", "flush dropped 1 event (too_large 1)"),
        pending: 0,
      },
    ],
    pending: 0,
  });
  expect(emitter.stats()).toMatchObject({ dropped: { too_large: 4 }, droppedAfterAccept: 1 });
  const stored = await readStream(nc(), "FLUSH_REFUSED");
  expect(stored.map((m) => m.headers["Nats-Msg-Id"])).toStrictEqual([SAMPLE_IDS.authn]);
  await emitter.close();
});
