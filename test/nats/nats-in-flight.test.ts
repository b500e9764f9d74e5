/**
 * Several batches in flight against a real nats-server: concurrent publishes through one broker, and
 * batches that fail while others are in flight.
 */
import { describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { decodeEvent } from "../../src/event/serialize.js";
import { createNatsBroker, ensureAuditStream } from "../../src/nats/index.js";
import { sampleEvent } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { readStream } from "./stream-reader.js";

const nc = useNatsServer();

/** Events with ids `<prefix>-0000`, `<prefix>-0001`, ... */
const events = (prefix: string, count: number, from = 0) =>
  Array.from({ length: count }, (_, i) =>
    sampleEvent({ eventId: `${prefix}-${String(from + i).padStart(4, "0")}` }),
  );

describe("several batches in flight to nats-server -js", () => {
  it("stores concurrent publishes of one broker in the order of the calls, sharing its window", async () => {
    await ensureAuditStream(nc(), { name: "CONCURRENT", subjects: ["concurrent.>"] });
    const broker = await createNatsBroker({ connection: nc(), maxInFlight: 8 });
    const sink = createBrokerSink({ broker, topic: "concurrent.events" });
    const batches = [events("a", 200), events("b", 50), events("c", 120)];

    await Promise.all(batches.map((batch) => sink.write(batch)));

    const stored = await readStream(nc(), "CONCURRENT");
    expect(stored.map((m) => decodeEvent(m.data).eventId)).toStrictEqual(
      batches.flat().map((event) => event.eventId),
    );
  });

  it("keeps the order of the calls around a publish aborted while it waits for its turn", async () => {
    await ensureAuditStream(nc(), { name: "ABORTED", subjects: ["aborted.>"] });
    const broker = await createNatsBroker({ connection: nc(), maxInFlight: 4 });
    const sink = createBrokerSink({ broker, topic: "aborted.events" });
    const controller = new AbortController();

    const first = sink.write(events("a", 300));
    const second = sink.write(events("b", 10), { signal: controller.signal });
    const third = sink.write(events("c", 10));
    controller.abort(new Error("given up"));

    await expect(second).rejects.toThrow("given up");
    await Promise.all([first, third]);
    const stored = (await readStream(nc(), "ABORTED")).map((m) => decodeEvent(m.data).eventId);
    expect(stored).toStrictEqual([...events("a", 300), ...events("c", 10)].map((e) => e.eventId));
  });

  it("stores every event once when batches fail while others are in flight (a full stream), then succeed", async () => {
    const total = 2000;
    const name = "FULL";
    await ensureAuditStream(nc(), { name, subjects: ["full.>"], maxBytes: 256 * 1024 });
    const broker = await createNatsBroker({ connection: nc(), ackTimeoutMs: 2000 });
    const emitter = createBrokerEmitter({
      broker,
      topic: "full.events",
      delivery: {
        maxBatchEvents: 100,
        maxQueueEvents: total,
        retry: { initialDelayMs: 20, maxDelayMs: 100 },
      },
    });

    for (const event of events("f", total)) expect(emitter.emit(event)).toBe("accepted");
    await expect.poll(() => emitter.stats().retried, { timeout: 10_000 }).toBeGreaterThan(0);
    const stalled = emitter.stats();
    await ensureAuditStream(nc(), { name, subjects: ["full.>"] });
    const flushed = await emitter.flush({ timeoutMs: 20_000 });
    const stats = emitter.stats();
    await emitter.close();

    const stored = (await readStream(nc(), name)).map((m) => decodeEvent(m.data).eventId);
    expect(stalled.delivered).toBeLessThan(total);
    expect(flushed.ok).toBe(true);
    expect(stats).toMatchObject({ accepted: total, delivered: total, dropped: {}, failed: 0 });
    expect(stored).toHaveLength(total);
    expect([...stored].sort()).toStrictEqual(events("f", total).map((e) => e.eventId));
  }, 30_000);
});
