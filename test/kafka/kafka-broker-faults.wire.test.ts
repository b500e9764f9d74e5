/**
 * The Kafka broker emitter (createBrokerEmitter over createKafkaBroker, the real `@platformatic/kafka`
 * Producer) under broker faults, on the loopback stand-in broker (wire-broker/), which was extended
 * for them: `state.produceFault` closes the connection, answers late or answers an error for chosen
 * produce requests, `stop()` / `start()` take it down and back on the same port, producer sequences
 * are checked as Kafka does (a repeated batch is not appended twice), and SASL/PLAIN is spoken.
 *
 * The promises: every event is delivered or counted with a reason and reported to onError; no event
 * is stored twice except a redelivery after an unanswered request; close and flush end within their
 * timeouts; no error text holds the SASL password.
 */
import { Producer } from "@platformatic/kafka";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import type { DeliveryEmitter } from "../../src/delivery/index.js";
import { createKafkaBroker, type KafkaBrokerOptions } from "../../src/kafka/index.js";
import { sampleEvent } from "../helpers/events.js";
import { ErrorCode } from "./wire-broker/error-codes.js";
import { type ProduceFault, startWireBroker, type WireBroker } from "./wire-broker/index.js";

const TOPIC = "audit-events";
const PASSWORD = "s3cret-kafka-password";

let kafka: WireBroker;
beforeEach(async () => {
  kafka = await startWireBroker();
  kafka.createTopic(TOPIC, { partitions: 1 });
  kafka.state.saslUsers.set("audit", PASSWORD);
});
afterEach(async () => {
  await kafka.close();
});

/** The faults of the produce requests numbered in `faults` (1 for the first); the others are served. */
function faultAt(faults: Readonly<Record<number, ProduceFault>>) {
  kafka.state.produceFault = (request) => faults[request];
}

const eventId = (i: number) => `019b7ca9-8f2e-7000-8000-${String(i).padStart(12, "0")}`;

interface Setup {
  emitter: DeliveryEmitter;
  errors: Error[];
}

/**
 * A broker emitter on the stand-in, authenticating with SASL/PLAIN; the client's retry delay is
 * shortened to keep the test quick (its 3 retries are kept).
 */
function setup(
  delivery: Parameters<typeof createBrokerEmitter>[0]["delivery"] = {},
  broker: Partial<KafkaBrokerOptions> = {},
  topic = TOPIC,
): Setup {
  const errors: Error[] = [];
  const emitter = createBrokerEmitter({
    broker: createKafkaBroker({
      bootstrapBrokers: kafka.bootstrapBrokers,
      clientId: "projects-api",
      sasl: { mechanism: "PLAIN", username: "audit", password: PASSWORD },
      timeoutMs: 2000,
      createProducer: (options) => new Producer({ ...options, retryDelay: 20 }),
      ...broker,
    }),
    topic,
    delivery: {
      flushIntervalMs: 5,
      writeTimeoutMs: 1000,
      closeTimeoutMs: 3000,
      retry: { initialDelayMs: 20, maxDelayMs: 100 },
      onError: (error) => errors.push(error),
      ...delivery,
    },
  });
  return { emitter, errors };
}

/** Event ids stored on the broker, in offset order. */
const stored = () => kafka.records(TOPIC, 0).map((r) => r.key?.toString());

/** Every text of an error: messages, names and string fields, through causes and nested errors. */
function errorTexts(error: unknown, seen = new Set<unknown>()): string[] {
  if (typeof error !== "object" || error === null || seen.has(error)) return [];
  seen.add(error);
  const texts: string[] = [];
  for (const key of Object.getOwnPropertyNames(error)) {
    const value = (error as Record<string, unknown>)[key];
    if (typeof value === "string") texts.push(value);
    else if (Buffer.isBuffer(value)) texts.push(value.toString("utf8"));
    else if (typeof value === "object") texts.push(...errorTexts(value, seen));
  }
  return texts;
}

function expectNoPassword(errors: readonly Error[]) {
  const texts = errors.flatMap((e) => [String(e), e.stack ?? "", ...errorTexts(e)]);
  expect(texts.filter((t) => t.includes(PASSWORD))).toStrictEqual([]);
}

async function emitAll(emitter: DeliveryEmitter, ids: readonly number[]) {
  for (const i of ids) expect(emitter.emit(sampleEvent({ eventId: eventId(i) }))).toBe("accepted");
}

describe("the Kafka broker emitter under broker faults (loopback stand-in broker)", () => {
  it("delivers each event once when the connection closes before a produce is answered, appended or not", async () => {
    faultAt({
      1: { kind: "close-connection", append: false },
      3: { kind: "close-connection", append: true },
    });
    const { emitter, errors } = setup();
    await emitAll(emitter, [1]);
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    await emitAll(emitter, [2]);
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect((await emitter.close()).ok).toBe(true);
    // Each event's request, then the client's retry of it. The retry of the appended one repeats its
    // sequence: Kafka answers it without appending it again.
    expect(kafka.state.produceRequests).toBe(4);
    expect(stored()).toStrictEqual([eventId(1), eventId(2)]);
    expect(emitter.stats()).toMatchObject({ accepted: 2, delivered: 2, dropped: {} });
    expectNoPassword(errors);
    expect(kafka.errors).toStrictEqual([]);
  });

  it("after a write timeout (Kafka answers later) waits for that answer before sending again: later batches go", async () => {
    faultAt({ 1: { kind: "delay-answer", ms: 600 } });
    const { emitter, errors } = setup({ writeTimeoutMs: 300 });
    await emitAll(emitter, [1]);
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    await emitAll(emitter, [2, 3]);
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    await emitAll(emitter, [4]);
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect((await emitter.close()).ok).toBe(true);
    // The unanswered batch was acknowledged after it was sent again: only it is stored twice (or
    // more, when a slow machine times out the retry too).
    expect(stored().filter((id) => id !== eventId(1))).toStrictEqual([2, 3, 4].map(eventId));
    expect(stored().filter((id) => id === eventId(1)).length).toBeGreaterThan(1);
    expect(emitter.stats()).toMatchObject({ accepted: 4, delivered: 4, dropped: {} });
    expect(errors.map((e) => [e.message, String(e.cause)])).toStrictEqual([
      [
        "kafka:audit-events: sink write failed; retrying",
        "TimeoutError: sink write did not settle within 300 ms",
      ],
    ]);
    expectNoPassword(errors);
    expect(kafka.errors).toStrictEqual([]);
  });

  it("after a request it stored went unanswered, sends again only what Kafka did not acknowledge, which Kafka takes as the repeat it is", async () => {
    // Three events sent in two requests (two, then one): the second is stored but answered after the
    // client's request timeout, so the client does not count its sequence numbers. The error names the
    // two Kafka acknowledged, counted delivered, and only the third is published again: its one request has the sequence numbers
    // of the one stored, so Kafka answers it as a repeat, and stores nothing twice. (A request of
    // another size there is refused, OUT_OF_ORDER_SEQUENCE_NUMBER, and the producer replaced: see
    // kafka-broker.test.ts.)
    faultAt({ 2: { kind: "delay-answer", ms: 450 } });
    const { emitter, errors } = setup(
      { maxBatchEvents: 3, flushIntervalMs: 50, writeTimeoutMs: 2000, warnIntervalMs: 1 },
      { timeoutMs: 300, maxMessageBytes: 2500, maxRequestBytes: 2500 },
    );
    await emitAll(emitter, [1, 2, 3]);
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    await emitAll(emitter, [4]);
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    expect((await emitter.close()).ok).toBe(true);
    expect(stored()).toStrictEqual([1, 2, 3, 4].map(eventId));
    expect(emitter.stats()).toMatchObject({ accepted: 4, delivered: 4, dropped: {} });
    expect(errors.map((e) => [e.message, String(e.cause)])).toStrictEqual([
      [
        "kafka:audit-events: sink write failed; retrying",
        'AuditPartialDeliveryError: kafka: send to "audit-events" failed after 2 of 3 messages: Request timed out',
      ],
    ]);
    expectNoPassword(errors);
    expect(kafka.errors).toStrictEqual([]);
  });

  it("holds the events while the broker is down at start and delivers each once when it comes up", async () => {
    await kafka.stop();
    const { emitter, errors } = setup();
    await emitAll(emitter, [1, 2, 3]);
    expect(await emitter.flush({ timeoutMs: 300 })).toMatchObject({ ok: false, pending: 3 });
    await kafka.start();
    expect(await emitter.flush({ timeoutMs: 10_000 })).toMatchObject({ ok: true, pending: 0 });
    expect((await emitter.close()).ok).toBe(true);
    expect(stored()).toStrictEqual([1, 2, 3].map(eventId));
    expect(emitter.stats()).toMatchObject({ accepted: 3, delivered: 3, dropped: {} });
    expect(errors.map((e) => e.message)).toStrictEqual(["kafka:audit-events: sink write failed; retrying"]);
    expectNoPassword(errors);
    expect(kafka.errors).toStrictEqual([]);
  });

  it("delivers every event once across a broker restart while events flow", async () => {
    const { emitter, errors } = setup();
    await emitAll(emitter, [1, 2, 3]);
    expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
    await kafka.stop();
    await emitAll(emitter, [4, 5, 6]);
    await kafka.start();
    await emitAll(emitter, [7, 8]);
    expect(await emitter.flush({ timeoutMs: 10_000 })).toMatchObject({ ok: true, pending: 0 });
    expect((await emitter.close()).ok).toBe(true);
    expect(stored()).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8].map(eventId));
    expect(emitter.stats()).toMatchObject({ accepted: 8, delivered: 8, dropped: {} });
    expectNoPassword(errors);
    expect(kafka.errors).toStrictEqual([]);
  });

  it.each(["NOT_LEADER_OR_FOLLOWER", "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS"] as const)(
    "retries %s: within the client's 3 retries unseen, beyond them the batch is published again, once",
    async (code) => {
      const error: ProduceFault = { kind: "error", errorCode: ErrorCode[code] };
      faultAt({ 1: error, 2: error, 3: error, 5: error, 6: error, 7: error, 8: error, 9: error });
      const { emitter, errors } = setup();
      await emitAll(emitter, [1]);
      expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
      expect(errors).toStrictEqual([]);
      await emitAll(emitter, [2]);
      expect(await emitter.flush({ timeoutMs: 5000 })).toMatchObject({ ok: true, pending: 0 });
      expect((await emitter.close()).ok).toBe(true);
      expect(stored()).toStrictEqual([1, 2].map(eventId));
      expect(emitter.stats()).toMatchObject({ accepted: 2, delivered: 2, retried: 1, dropped: {} });
      expect(errors.map((e) => [e.message, String(e.cause)])).toStrictEqual([
        [
          "kafka:audit-events: sink write failed; retrying",
          `AuditEmitError: kafka: send to "audit-events" failed after 0 of 1 messages: ${code}`,
        ],
      ]);
      expectNoPassword(errors);
    },
  );

  it.each(["TOPIC_AUTHORIZATION_FAILED", "UNKNOWN_TOPIC_OR_PARTITION"] as const)(
    "retries %s that never clears until close, which drops, counts and reports the events",
    async (code) => {
      kafka.state.produceFault = () => ({ kind: "error", errorCode: ErrorCode[code] });
      const { emitter, errors } = setup();
      await emitAll(emitter, [1, 2]);
      expect(await emitter.flush({ timeoutMs: 300 })).toMatchObject({ ok: false, pending: 2 });
      expect(await emitter.close({ timeoutMs: 300 })).toMatchObject({ ok: false, delivered: 0, dropped: 2 });
      expect(stored()).toStrictEqual([]);
      expect(emitter.stats()).toMatchObject({ accepted: 2, delivered: 0, dropped: { close_timeout: 2 } });
      expect(
        errors.map((e) => [e.message, e.cause === undefined ? undefined : String(e.cause)]),
      ).toStrictEqual([
        [
          "kafka:audit-events: sink write failed; retrying",
          `AuditEmitError: kafka: send to "audit-events" failed after 0 of 2 messages: ${code}`,
        ],
        [
          "kafka:audit-events: dropped 1 event (close_timeout): close() timed out before the event was delivered",
          undefined,
        ],
        [
          "kafka:audit-events: dropped 1 event (close_timeout): close() timed out before the event was delivered",
          undefined,
        ],
      ]);
      expectNoPassword(errors);
    },
  );

  it("retries a topic Kafka does not have (no auto-creation) until close, which drops, counts and reports", async () => {
    kafka.state.autoCreateTopics = false;
    const { emitter, errors } = setup({}, {}, "missing-events");
    await emitAll(emitter, [1]);
    expect(await emitter.flush({ timeoutMs: 300 })).toMatchObject({ ok: false, pending: 1 });
    expect(await emitter.close({ timeoutMs: 300 })).toMatchObject({ ok: false, delivered: 0, dropped: 1 });
    expect(kafka.state.topics.has("missing-events")).toBe(false);
    expect(emitter.stats()).toMatchObject({ accepted: 1, delivered: 0, dropped: { close_timeout: 1 } });
    expect(errors.map((e) => [e.message, e.cause === undefined ? undefined : String(e.cause)])).toStrictEqual(
      [
        [
          "kafka:missing-events: sink write failed; retrying",
          'AuditEmitError: kafka: send to "missing-events" failed after 0 of 1 messages: Unknown topic missing-events',
        ],
        [
          "kafka:missing-events: dropped 1 event (close_timeout): close() timed out before the event was delivered",
          undefined,
        ],
      ],
    );
    expectNoPassword(errors);
  });

  it("close() while a produce hangs ends within its timeout, dropping and counting the event", async () => {
    faultAt({ 1: { kind: "delay-answer", ms: Number.POSITIVE_INFINITY } });
    const { emitter, errors } = setup({ writeTimeoutMs: 30_000 });
    await emitAll(emitter, [1]);
    expect(await emitter.flush({ timeoutMs: 300 })).toMatchObject({ ok: false, pending: 1 });
    expect(kafka.state.produceRequests).toBe(1);
    expect(await emitter.close({ timeoutMs: 300 })).toMatchObject({ ok: false, delivered: 0, dropped: 1 });
    expect(emitter.stats()).toMatchObject({ accepted: 1, delivered: 0, dropped: { close_timeout: 1 } });
    expect(errors.map((e) => e.message)).toStrictEqual([
      "kafka:audit-events: dropped 1 event (close_timeout): close() timed out before the event was delivered",
    ]);
  });

  it("names a failed SASL authentication without the password", async () => {
    kafka.state.saslUsers.set("audit", "another password");
    const { emitter, errors } = setup();
    await emitAll(emitter, [1]);
    expect(await emitter.flush({ timeoutMs: 500 })).toMatchObject({ ok: false, pending: 1 });
    expect(await emitter.close({ timeoutMs: 300 })).toMatchObject({ ok: false, dropped: 1 });
    expect(stored()).toStrictEqual([]);
    expect(String(errors[0]?.cause)).toBe(
      `AuditEmitError: kafka: send to "audit-events" failed after 0 of 1 messages: Connection to ${kafka.bootstrapBrokers[0]} failed (SASL authentication failed (SASL_AUTHENTICATION_FAILED))`,
    );
    expectNoPassword(errors);
  });
});
