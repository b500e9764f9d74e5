/**
 * Fault tests of broker delivery against a real nats-server: the server is killed with SIGKILL and
 * restarted on the same port and store while events are emitted through createBrokerEmitter.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrokerEmitterOptions, createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import type { DeliveryEmitter } from "../../src/delivery/index.js";
import { createNatsBroker, ensureAuditStream } from "../../src/nats/index.js";
import { sampleEvent } from "../helpers/events.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { readStream } from "./stream-reader.js";

let server: NatsServer;
let reader: NatsConnection;

const RECONNECT = { maxReconnectAttempts: -1, reconnectTimeWait: 100 } as const;
/**
 * A flush after the restart waits for a delivery the outage held back. Its bound is far past the time
 * the delivery takes even on a loaded machine, and the test's timeout past that bound, so that a
 * slow machine ends neither early and a flush that never finishes reports `ok: false`.
 */
const FLUSH_TIMEOUT_MS = 180_000;
const FAULT_TEST_TIMEOUT_MS = 300_000;

beforeAll(async () => {
  server = await startNatsServer();
  reader = await connect({ servers: server.url, ...RECONNECT });
});

afterAll(async () => {
  await reader?.close();
  await server?.stop();
});

/** An event id per test and index: distinct, and sorting like the UUIDv7 ids the Recorder makes. */
const eventId = (test: number, i: number) =>
  `019b7ca9-8f2e-7000-800${test}-${i.toString(16).padStart(12, "0")}`;

/** Emits `count` events from `first` in bursts; returns how long each emit call took, in ms. */
async function emitBursts(
  emitter: DeliveryEmitter,
  test: number,
  first: number,
  count: number,
  burst: number,
  pauseMs: number,
): Promise<number[]> {
  const took: number[] = [];
  for (let start = first; start < first + count; start += burst) {
    for (let i = start; i < Math.min(start + burst, first + count); i++) {
      const event = sampleEvent({ eventId: eventId(test, i) });
      const began = performance.now();
      const outcome = emitter.emit(event);
      took.push(performance.now() - began);
      // emit is a synchronous hand-off: it returns its outcome, never a promise to wait on.
      if (typeof outcome !== "string") throw new Error(`emit returned ${typeof outcome}, not an outcome`);
    }
    await sleep(pauseMs);
  }
  return took;
}

/** The distinct event ids stored in the stream, and how many messages it holds. */
async function storedIds(stream: string): Promise<{ ids: Set<string>; messages: number }> {
  const stored = await readStream(reader, stream);
  return { ids: new Set(stored.map((m) => m.headers["grpc-audit-event-id"] ?? "")), messages: stored.length };
}

/** A stream `name` capturing `<prefix>.>`, and a broker emitter publishing to `<prefix>.events` over its own connection. */
async function emitterFor(
  name: string,
  prefix: string,
  delivery: NonNullable<BrokerEmitterOptions["delivery"]>,
): Promise<DeliveryEmitter> {
  await ensureAuditStream(reader, { name, subjects: [`${prefix}.>`] });
  const broker = await createNatsBroker({
    servers: server.url,
    connectOptions: RECONNECT,
    ackTimeoutMs: 1000,
  });
  return createBrokerEmitter({
    broker,
    topic: `${prefix}.events`,
    delivery: { retry: { initialDelayMs: 50, maxDelayMs: 500 }, writeTimeoutMs: 3000, ...delivery },
  });
}

describe("broker delivery while nats-server is killed and restarted", () => {
  it(
    "stores every one of 20,000 event ids exactly once across a 10 s SIGKILL outage, emits never waiting",
    async () => {
      const total = 20_000;
      const emitter = await emitterFor("FAULT_OUTAGE", "outage", {
        maxQueueEvents: total,
        maxQueueBytes: 64 * 1024 * 1024,
      });

      const before = await emitBursts(emitter, 1, 0, 5000, 500, 50);
      await server.kill();
      const killedAt = performance.now();
      const during = await emitBursts(emitter, 1, 5000, 10_000, 500, 480);
      await sleep(Math.max(0, 10_000 - (performance.now() - killedAt)));
      const outageMs = performance.now() - killedAt;
      await server.restart();
      const after = await emitBursts(emitter, 1, 15_000, 5000, 500, 50);
      const flushed = await emitter.flush({ timeoutMs: FLUSH_TIMEOUT_MS });
      const stats = emitter.stats();
      await emitter.close();

      const { ids, messages } = await storedIds("FAULT_OUTAGE");
      const missing = Array.from({ length: total }, (_, i) => eventId(1, i)).filter((id) => !ids.has(id));
      const took = [...before, ...during, ...after].sort((a, b) => a - b);
      const at = (q: number) => (took[Math.floor(q * (took.length - 1))] ?? 0).toFixed(3);
      console.info(
        `outage: ${total} events, server down ${(outageMs / 1000).toFixed(1)} s, emit p50 ${at(0.5)} ms, ` +
          `p99 ${at(0.99)} ms, max ${at(1)} ms, ${stats.retried} batch retries, ${messages} stored, ` +
          `${missing.length} missing`,
      );
      expect(flushed.ok).toBe(true);
      expect(stats).toMatchObject({ accepted: total, delivered: total, dropped: {}, failed: 0 });
      expect(stats.retried).toBeGreaterThan(0);
      expect(missing).toStrictEqual([]);
      expect(messages).toBe(total);
    },
    FAULT_TEST_TIMEOUT_MS,
  );

  it(
    'with "drop-newest", no spool and the server down, the ids missing from the stream equal the dropped counter',
    async () => {
      const total = 5000;
      const emitter = await emitterFor("FAULT_DROPS", "drops", {
        overflow: "drop-newest",
        maxQueueEvents: 1000,
      });

      await server.kill();
      const outcomes = new Map<string, number>();
      for (let i = 0; i < total; i++) {
        const outcome = emitter.emit(sampleEvent({ eventId: eventId(2, i) }));
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (i % 500 === 499) await sleep(20);
      }
      await server.restart();
      const flushed = await emitter.flush({ timeoutMs: FLUSH_TIMEOUT_MS });
      const stats = emitter.stats();
      await emitter.close();

      const { ids, messages } = await storedIds("FAULT_DROPS");
      const missing = Array.from({ length: total }, (_, i) => eventId(2, i)).filter(
        (id) => !ids.has(id),
      ).length;
      const dropped = Object.values(stats.dropped).reduce((sum, n) => sum + n, 0);
      console.info(`drop-newest: ${total} events while down, ${missing} missing, dropped counter ${dropped}`);
      expect(flushed.ok).toBe(true);
      expect(missing).toBeGreaterThan(0);
      expect(dropped).toBe(missing);
      expect(stats.dropped).toStrictEqual({ queue_full: missing });
      expect(outcomes.get("dropped")).toBe(missing);
      expect(messages).toBe(total - missing);
    },
    FAULT_TEST_TIMEOUT_MS,
  );
});
