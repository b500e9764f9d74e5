import { describe, expect, it } from "vitest";
import type { BrokerSinkOptions } from "../../src/brokers/broker-sink.js";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { decodeEvent, encodeEvent, eventFromJson, eventToJson } from "../../src/event/serialize.js";
import { AuditEvent, EventType, TupleOperation } from "../../src/gen/grpcaudit/v1/event.js";
import { SAMPLE_IDS, SAMPLE_TIME, sampleEvent, sampleEvents } from "../helpers/events.js";
import { fakeBroker } from "./fake-broker.js";

/** An event with every field at its default. */
const emptyEvent = (): AuditEvent => AuditEvent.fromPartial({});

const BASE_HEADERS = {
  "content-type": "application/x-protobuf",
  "grpc-audit-event-id": SAMPLE_IDS.authz,
  "grpc-audit-event-type": "authz.decision",
  "grpc-audit-schema-version": "1",
  "grpc-audit-service": "projects",
};

describe("createBrokerSink", () => {
  it("publishes one protobuf message per event, keyed by event id, to the topic", async () => {
    const broker = fakeBroker();
    const sink = createBrokerSink({ broker, topic: "audit.events" });
    const events = sampleEvents();
    await sink.write(events);

    expect(broker.calls).toHaveLength(1);
    expect(broker.calls[0]?.topic).toBe("audit.events");
    expect(broker.acked.map((m) => m.key)).toStrictEqual(events.map((e) => e.eventId));
    expect(broker.acked.map((m) => decodeEvent(m.value))).toStrictEqual(events);
    expect(broker.acked.map((m) => m.headers)).toStrictEqual([
      { ...BASE_HEADERS, "grpc-audit-event-id": SAMPLE_IDS.authn, "grpc-audit-event-type": "authn.result" },
      BASE_HEADERS,
      {
        ...BASE_HEADERS,
        "grpc-audit-event-id": SAMPLE_IDS.tupleChange,
        "grpc-audit-event-type": "tuple.change",
      },
      {
        ...BASE_HEADERS,
        "grpc-audit-event-id": SAMPLE_IDS.resourceMutation,
        "grpc-audit-event-type": "resource.mutation",
      },
      {
        ...BASE_HEADERS,
        "grpc-audit-event-id": SAMPLE_IDS.resourceAccess,
        "grpc-audit-event-type": "resource.access",
      },
      {
        ...BASE_HEADERS,
        "grpc-audit-event-id": SAMPLE_IDS.checkpoint,
        "grpc-audit-event-type": "chain.checkpoint",
      },
      {
        ...BASE_HEADERS,
        "grpc-audit-event-id": SAMPLE_IDS.recordSummary,
        "grpc-audit-event-type": "record.summary",
      },
    ]);
  });

  it("encodes proto3 JSON with a JSON content type when asked", async () => {
    const broker = fakeBroker();
    const sink = createBrokerSink({ broker, topic: "t", encoding: "json" });
    const event = sampleEvent();
    await sink.write([event]);

    const [message] = broker.acked;
    const json: unknown = JSON.parse(Buffer.from(message?.value ?? []).toString("utf8"));
    expect(eventFromJson(json)).toStrictEqual(event);
    expect(json).toMatchObject({ eventId: SAMPLE_IDS.authz, duration: "1.250s" });
    expect(message?.headers).toStrictEqual({ ...BASE_HEADERS, "content-type": "application/json" });
  });

  describe("CloudEvents binary-mode headers", () => {
    const ceHeaders = (p: string, contentType = "application/x-protobuf"): Record<string, string> => ({
      ...BASE_HEADERS,
      "content-type": contentType,
      [`${p}specversion`]: "1.0",
      [`${p}id`]: SAMPLE_IDS.authz,
      [`${p}source`]: "projects",
      [`${p}type`]: "grpcaudit.v1.authz.decision",
      [`${p}time`]: SAMPLE_TIME,
      [`${p}datacontenttype`]: contentType,
    });

    it('use the "ce_" prefix (Kafka binding) when the broker does not name one', async () => {
      const broker = fakeBroker();
      await createBrokerSink({ broker, topic: "t", cloudEvents: true }).write([sampleEvent()]);
      expect(broker.acked[0]?.headers).toStrictEqual(ceHeaders("ce_"));
    });

    it("use the broker's prefix, such as NATS's \"ce-\"", async () => {
      const broker = fakeBroker({ cloudEventsHeaderPrefix: "ce-" });
      await createBrokerSink({ broker, topic: "t", cloudEvents: true, encoding: "json" }).write([
        sampleEvent(),
      ]);
      expect(broker.acked[0]?.headers).toStrictEqual(ceHeaders("ce-", "application/json"));
    });

    it("use the prefix given in the option over the broker's", async () => {
      const broker = fakeBroker({ cloudEventsHeaderPrefix: "ce-" });
      const sink = createBrokerSink({ broker, topic: "t", cloudEvents: { headerPrefix: "ce_" } });
      await sink.write([sampleEvent()]);
      expect(broker.acked[0]?.headers).toStrictEqual(ceHeaders("ce_"));
    });

    it("leave out the time of an event that has none", async () => {
      const broker = fakeBroker();
      const { occurredAt: _, ...timeless } = sampleEvent();
      await createBrokerSink({ broker, topic: "t", cloudEvents: true }).write([timeless]);
      const expected = ceHeaders("ce_");
      delete expected.ce_time;
      expect(broker.acked[0]?.headers).toStrictEqual(expected);
    });

    it("name the kind of an event type this version does not know as unspecified", async () => {
      const broker = fakeBroker();
      await createBrokerSink({ broker, topic: "t", cloudEvents: true }).write([
        sampleEvent({ eventType: EventType.UNRECOGNIZED }),
      ]);
      expect(broker.acked[0]?.headers).toMatchObject({
        "grpc-audit-event-type": "unspecified",
        ce_type: "grpcaudit.v1.unspecified",
      });
    });
  });

  it("replaces line breaks and other control characters in header values with spaces", async () => {
    const broker = fakeBroker();
    await createBrokerSink({ broker, topic: "t", cloudEvents: true }).write([
      sampleEvent({ service: "evil\r\nx-injected: 1\u0000" }),
    ]);
    expect(broker.acked[0]?.headers).toMatchObject({
      "grpc-audit-service": "evil  x-injected: 1 ",
      ce_source: "evil  x-injected: 1 ",
    });
  });

  describe("partitionKey", () => {
    it("sets the message key", async () => {
      const broker = fakeBroker();
      const sink = createBrokerSink({ broker, topic: "t", partitionKey: (e) => e.target?.id ?? "" });
      await sink.write([sampleEvent()]);
      expect(broker.acked[0]?.key).toBe("p-42");
    });

    it("falls back to the event id when it throws or returns an empty key", async () => {
      const broker = fakeBroker();
      const throwing = createBrokerSink({
        broker,
        topic: "t",
        partitionKey: () => {
          throw new Error("no tenant");
        },
      });
      const empty = createBrokerSink({ broker, topic: "t", partitionKey: () => "" });
      await throwing.write([sampleEvent()]);
      await empty.write([sampleEvent({ kind: "authn" })]);
      expect(broker.acked.map((m) => m.key)).toStrictEqual([SAMPLE_IDS.authz, SAMPLE_IDS.authn]);
    });
  });

  it("rejects with the broker's error when the publish is not acknowledged", async () => {
    const broker = fakeBroker();
    const failure = new Error("broker down");
    broker.failWith = failure;
    const sink = createBrokerSink({ broker, topic: "t" });
    await expect(sink.write([sampleEvent()])).rejects.toBe(failure);
    expect(broker.calls).toHaveLength(1);
  });

  it("passes the abort signal to the broker", async () => {
    const broker = fakeBroker();
    const controller = new AbortController();
    const sink = createBrokerSink({ broker, topic: "t" });
    await sink.write([sampleEvent()], { signal: controller.signal });
    await sink.write([sampleEvent()]);
    expect(broker.calls.map((c) => c.signal)).toStrictEqual([controller.signal, undefined]);
  });

  it("is named after the broker and topic, and closes the broker", async () => {
    const broker = fakeBroker({ name: "nats" });
    const sink = createBrokerSink({ broker, topic: "audit.events" });
    expect(sink.name).toBe("nats:audit.events");
    await sink.close?.();
    expect(broker.closed).toBe(1);
  });

  it("takes its event size limit from the broker's message limit, less room for headers (about a tenth for JSON)", () => {
    const limited = createBrokerSink({ broker: fakeBroker({ maxMessageBytes: 1_048_576 }), topic: "t" });
    const unlimited = createBrokerSink({ broker: fakeBroker(), topic: "t" });
    const json = createBrokerSink({
      broker: fakeBroker({ maxMessageBytes: 1_048_576 }),
      topic: "t",
      encoding: "json",
    });
    expect(limited.maxEventBytes).toBe(1_048_576 - 1024);
    expect(json.maxEventBytes).toBe(Math.floor((1_048_576 - 1024 - 4096) / 10));
    expect(unlimited.maxEventBytes).toBeUndefined();
    expect("maxEventBytes" in unlimited).toBe(false);
  });

  it("derives the JSON limit from a bound that holds for the most name-heavy events", () => {
    const operationsOnly = sampleEvent({
      kind: "tupleChange",
      detail: {
        $case: "tupleChange",
        value: {
          tuples: Array.from({ length: 1000 }, () => ({
            operation: TupleOperation.TUPLE_OPERATION_DELETE,
            user: "",
            relation: "",
            object: "",
            success: false,
            errorReason: "",
          })),
          storeId: "",
          modelId: "",
        },
      },
    });
    const controlCharacters = sampleEvent({ operation: "\u0001".repeat(10_000) });
    const typeOnly = { ...emptyEvent(), eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION };
    for (const event of [operationsOnly, controlCharacters, typeOnly, ...sampleEvents()]) {
      const protobuf = encodeEvent(event).byteLength;
      const json = Buffer.byteLength(JSON.stringify(eventToJson(event)));
      expect(json).toBeLessThanOrEqual(protobuf * 10 + 4096);
    }
  });

  describe("rejects bad options at construction, naming the option", () => {
    const broker = fakeBroker();
    const cases: [string, unknown, RegExp][] = [
      ["no broker", { topic: "t" }, /^broker emitter: `broker` must /],
      ["a broker without publish", { broker: { name: "x" }, topic: "t" }, /^broker emitter: `broker` must /],
      ["an empty topic", { broker, topic: "" }, /^broker emitter: `topic` must /],
      [
        "an unknown encoding",
        { broker, topic: "t", encoding: "avro" },
        /^broker emitter: `encoding` must .*"avro"/,
      ],
      [
        "an inherited encoding name",
        { broker, topic: "t", encoding: "toString" },
        /^broker emitter: `encoding` must /,
      ],
      [
        "a partitionKey that is not a function",
        { broker, topic: "t", partitionKey: "id" },
        /^broker emitter: `partitionKey` must /,
      ],
      [
        "an unknown CloudEvents prefix",
        { broker, topic: "t", cloudEvents: { headerPrefix: "x-" } },
        /^broker emitter: `cloudEvents` must /,
      ],
      [
        "a CloudEvents string",
        { broker, topic: "t", cloudEvents: "yes" },
        /^broker emitter: `cloudEvents` must /,
      ],
    ];
    for (const [what, options, message] of cases) {
      it(what, () => {
        const create = () => createBrokerSink(options as BrokerSinkOptions);
        expect(create).toThrow(AuditConfigError);
        expect(create).toThrow(message);
      });
    }
  });
});
