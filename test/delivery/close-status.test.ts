/**
 * The status of a delivery emitter's close(): "timeout" only when the drain ran out of time. A close
 * that drained at once but had dropped an event the sink can never take used to report "timeout"
 * (with a 30 s close timeout, after a few ms), which sends an operator to raise the timeout for
 * nothing: it is an "error" now, naming the reasons and counts of the drops. A close that ran out of
 * time after such a drop said "timeout" with no error, hiding the event the sink refused for good:
 * its error now names every drop, by reason.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { SAMPLE_IDS, sampleEvent } from "../helpers/events.js";
import { startNatsServer } from "../helpers/nats-server.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { readStream } from "../nats/stream-reader.js";
import { emitterWithOneTooLarge } from "./small-stream.js";

const nc = useNatsServer();

it("reports an error, not a timeout, when close drained in time but the stream refused an event as too large", async () => {
  const emitter = await emitterWithOneTooLarge(nc(), "SMALL", "small");

  const report = await emitter.close();

  expect(report).toStrictEqual({
    ok: false,
    results: [
      {
        emitter: "nats:small.events",
        status: "error",
        error: new AuditEmitError("nats:small.events", "close dropped 1 event (too_large 1)"),
        pending: 0,
      },
    ],
    pending: 0,
    delivered: 2,
    spooled: 0,
    dropped: 1,
  });
  const stored = await readStream(nc(), "SMALL");
  expect(stored.map((m) => m.headers["Nats-Msg-Id"])).toStrictEqual([SAMPLE_IDS.authn, SAMPLE_IDS.authz]);
});

it("names the too_large drop of a close that then ran out of time, with the events left at the deadline", async () => {
  // A server of its own: it is killed while the drain writes the last event.
  const server = await startNatsServer();
  const conn = await connect({ servers: server.url, maxReconnectAttempts: -1 });
  try {
    const jsm = await jetstreamManager(conn);
    // Made before the stream gets its small max_msg_size: it reads none, so the stream refuses on write.
    await jsm.streams.add({ name: "SMALL_DEAD", subjects: ["dead.>"] });
    const broker = await createNatsBroker({ connection: conn, stream: "SMALL_DEAD" });
    await jsm.streams.update("SMALL_DEAD", { max_msg_size: 1500 });
    let writes = 0;
    const emitter = createBrokerEmitter({
      broker,
      topic: "dead.events",
      // One event a batch, one batch at a time: authn, then the big one (refused), then authz.
      delivery: { maxBatchEvents: 1, maxInFlightBatches: 1 },
      wrapSink: (sink) => ({
        ...sink,
        writeEncoded: async (batch, options) => {
          writes++;
          if (writes === 3) await server.kill();
          return sink.writeEncoded?.(batch, options);
        },
      }),
    });
    emitter.emit(sampleEvent({ kind: "authn" }));
    emitter.emit(sampleEvent({ eventId: "evt-big", operation: `/acme.Big/${"x".repeat(4000)}` }));
    emitter.emit(sampleEvent({ kind: "authz" }));

    const report = await emitter.close({ timeoutMs: 1000 });

    const message = "close ran out of time, dropped 2 events (too_large 1, close_timeout 1)";
    expect(report).toStrictEqual({
      ok: false,
      results: [
        {
          emitter: "nats:dead.events",
          status: "timeout",
          error: new AuditEmitError("nats:dead.events", message),
          pending: 0,
        },
      ],
      pending: 0,
      delivered: 1,
      spooled: 0,
      dropped: 2,
    });
  } finally {
    await conn.close();
    await server.stop();
  }
});
