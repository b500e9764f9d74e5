/**
 * `instrumentSink` says it can time a broker emitter's writes, but the broker emitter made its own
 * sink and refused one in `delivery.sink`: NATS and Kafka users had no `grpc_audit.sink.write.duration`.
 * Its `wrapSink` option hands the broker sink it makes to `instrumentSink`; here over a real nats-server.
 */
import { describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { createNatsBroker, ensureAuditStream } from "../../src/nats/index.js";
import { AUDIT_METRIC_ATTRIBUTES, AUDIT_METRICS, instrumentSink } from "../../src/otel/index.js";
import { sampleEvents } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { readStream } from "../nats/stream-reader.js";
import { testMeterProvider } from "./metric-reader.js";

const connection = useNatsServer();

describe("instrumentSink as a broker emitter's wrapSink", () => {
  it("times every batch the broker emitter publishes to NATS into sink.write.duration", async () => {
    const nc = connection();
    await ensureAuditStream(nc, { name: "AUDIT", subjects: ["audit.>"] });
    const broker = await createNatsBroker({ connection: nc, stream: "AUDIT" });
    const { meterProvider, collect } = testMeterProvider();
    const emitter = createBrokerEmitter({
      broker,
      topic: "audit.projects",
      delivery: { maxBatchEvents: 2 },
      wrapSink: (sink) => instrumentSink(sink, { meterProvider }),
    });
    const events = sampleEvents();
    expect(events.map((event) => emitter.emit(event))).toStrictEqual(events.map(() => "accepted"));
    expect(await emitter.flush({ timeoutMs: 10_000 })).toMatchObject({ ok: true });

    expect(await readStream(nc, "AUDIT")).toHaveLength(events.length);
    const writes = (await collect()).get(AUDIT_METRICS.sinkWriteDuration.name);
    expect(writes?.points).toHaveLength(1);
    expect(writes?.points[0]?.attributes).toStrictEqual({
      [AUDIT_METRIC_ATTRIBUTES.sinkName]: "nats:audit.projects",
    });
    // One timed write per batch of at most two events.
    expect(writes?.points[0]?.value).toMatchObject({ count: Math.ceil(events.length / 2) });
    await emitter.close();
  });
});
