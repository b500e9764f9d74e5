import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { AuditConfigError, AuditEmitError, AuditEventTooLargeError } from "../../src/errors/index.js";
import { decodeEvent } from "../../src/event/serialize.js";
import { createNatsBroker, ensureAuditStream, type NatsBrokerOptions } from "../../src/nats/index.js";
import { DETAIL_KINDS, SAMPLE_IDS, SAMPLE_TIME, sampleEvent, sampleEvents } from "../helpers/events.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { readStream } from "./stream-reader.js";

const MAX_PAYLOAD = 8192;

let server: NatsServer;
let nc: NatsConnection;
let streams = 0;

/** A fresh stream capturing `<subject prefix>.>`, so tests do not see each other's messages. */
async function freshStream(): Promise<{ stream: string; topic: string }> {
  streams++;
  const stream = `AUDIT_${streams}`;
  await ensureAuditStream(nc, { name: stream, subjects: [`audit${streams}.>`] });
  return { stream, topic: `audit${streams}.events` };
}

beforeAll(async () => {
  server = await startNatsServer({ maxPayloadBytes: MAX_PAYLOAD });
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

describe("createNatsBroker against nats-server -js", () => {
  it("resolves once every message is acknowledged and stored, in order", async () => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc, stream });
    const events = sampleEvents();
    await createBrokerSink({ broker, topic }).write(events);

    const stored = await readStream(nc, stream);
    expect(stored.map((m) => m.subject)).toStrictEqual(events.map(() => topic));
    expect(stored.map((m) => decodeEvent(m.data))).toStrictEqual(events);
  });

  it("stores a message published again with the same event id once (server de-duplication)", async () => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc });
    const sink = createBrokerSink({ broker, topic });
    const event = sampleEvent();
    await sink.write([event]);
    await sink.write([event, sampleEvent({ kind: "authn" })]);
    await sink.write([event]);

    const stored = await readStream(nc, stream);
    expect(stored.map((m) => m.headers["Nats-Msg-Id"])).toStrictEqual([SAMPLE_IDS.authz, SAMPLE_IDS.authn]);
  });

  it("uses the event id as message id also when the key is a custom partition key", async () => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc });
    const sink = createBrokerSink({ broker, topic, partitionKey: () => "tenant-1" });
    await sink.write(sampleEvents());
    await sink.write(sampleEvents());

    const stored = await readStream(nc, stream);
    expect(stored.map((m) => m.headers["Nats-Msg-Id"])).toStrictEqual(sampleEvents().map((e) => e.eventId));
  });

  it("delivers every header, CloudEvents ones with NATS's ce- prefix", async () => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc, stream });
    await createBrokerSink({ broker, topic, encoding: "json", cloudEvents: true }).write([sampleEvent()]);

    const [message] = await readStream(nc, stream);
    expect(message?.headers).toStrictEqual({
      "content-type": "application/json",
      "grpc-audit-event-id": SAMPLE_IDS.authz,
      "grpc-audit-event-type": "authz.decision",
      "grpc-audit-schema-version": "1",
      "grpc-audit-service": "projects",
      "ce-specversion": "1.0",
      "ce-id": SAMPLE_IDS.authz,
      "ce-source": "projects",
      "ce-type": "grpcaudit.v1.authz.decision",
      "ce-time": SAMPLE_TIME,
      "ce-datacontenttype": "application/json",
      "Nats-Msg-Id": SAMPLE_IDS.authz,
      "Nats-Expected-Stream": stream,
    });
  });

  it("reports the server's max_payload and refuses a larger message before publishing its batch", async () => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc });
    expect(broker.maxMessageBytes).toBe(MAX_PAYLOAD);
    const small = { key: "k1", value: new Uint8Array(100), headers: { "grpc-audit-event-id": "e-1" } };
    const large = {
      key: "k2",
      value: new Uint8Array(MAX_PAYLOAD - 50),
      headers: { "grpc-audit-event-id": "e-2" },
    };

    const publishing = broker.publish(topic, [small, large]);
    await expect(publishing).rejects.toThrow(AuditEmitError);
    // Typed and naming the event, so the delivery pipeline drops just that one and sends the rest.
    await expect(publishing).rejects.toMatchObject({
      constructor: AuditEventTooLargeError,
      eventIds: ["e-2"],
    });
    await expect(publishing).rejects.toThrow(
      // 8142 payload + "NATS/1.0\r\n" … "\r\n" + "Nats-Msg-Id: e-2\r\n" + "grpc-audit-event-id: e-2\r\n"
      "nats: message for event e-2 is 8198 bytes with " +
        `headers, over the server's max_payload of ${MAX_PAYLOAD} bytes; NATS never accepts it, so nothing ` +
        "of this batch was published",
    );
    expect(await readStream(nc, stream)).toStrictEqual([]);
    // The broker sink keeps room for headers below the server's limit.
    expect(createBrokerSink({ broker, topic }).maxEventBytes).toBe(MAX_PAYLOAD - 1024);
  });

  it("publishes a message of exactly max_payload bytes with its headers", async () => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc });
    // "NATS/1.0\r\n" + "Nats-Msg-Id: e-3\r\n" + "grpc-audit-event-id: e-3\r\n" + "\r\n" = 56 bytes
    const value = new Uint8Array(MAX_PAYLOAD - 56);
    await broker.publish(topic, [{ key: "k3", value, headers: { "grpc-audit-event-id": "e-3" } }]);

    const stored = await readStream(nc, stream);
    expect(stored.map((m) => m.data.length)).toStrictEqual([MAX_PAYLOAD - 56]);
  });

  it.each([
    ["a header name with a colon", { "bad:name": "v" }, 'header name "bad:name" is not valid in NATS'],
    ["a header name with a space", { "bad name": "v" }, 'header name "bad name" is not valid in NATS'],
    ["a header value with a line break", { ok: "a\r\nInjected: 1" }, "header ok holds a line break"],
  ])("refuses %s before publishing anything of the batch", async (_, headers, message) => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc });
    const good = { key: "k1", value: new Uint8Array(1), headers: { "grpc-audit-event-id": "e-1" } };
    const bad = {
      key: "k2",
      value: new Uint8Array(1),
      headers: { "grpc-audit-event-id": "e-2", ...headers },
    };

    const publishing = broker.publish(topic, [good, bad]);
    await expect(publishing).rejects.toThrow(AuditEmitError);
    await expect(publishing).rejects.toThrow(`nats: message for event e-2: ${message}`);
    expect(await readStream(nc, stream)).toStrictEqual([]);
  });

  it("sends header values trimmed, as the client does", async () => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc });
    await broker.publish(topic, [
      { key: "k", value: new Uint8Array(1), headers: { "grpc-audit-event-id": "e-4", "x-padded": "  v  " } },
    ]);

    const [stored] = await readStream(nc, stream);
    expect(stored?.headers).toStrictEqual({
      "grpc-audit-event-id": "e-4",
      "x-padded": "v",
      "Nats-Msg-Id": "e-4",
    });
  });

  it("rejects, naming the likely cause, when no stream captures the subject", async () => {
    const broker = await createNatsBroker({ connection: nc, ackTimeoutMs: 2000 });
    await expect(
      createBrokerSink({ broker, topic: "nowhere.events" }).write([sampleEvent()]),
    ).rejects.toThrow(
      /^nats: publish to "nowhere.events" failed after 0 of 1 acknowledgements: .*see ensureAuditStream/,
    );
  });

  it("rejects when the expected stream is not the one capturing the subject", async () => {
    const { topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc, stream: "OTHER" });
    await expect(
      broker.publish(topic, [{ key: "k", value: new Uint8Array(1), headers: {} }]),
    ).rejects.toThrow(/^nats: publish to "audit\d+\.events" failed after 0 of 1 acknowledgements: .*stream/i);
  });

  it("rejects at once when the signal is aborted", async () => {
    const { topic } = await freshStream();
    const broker = await createNatsBroker({ connection: nc });
    const controller = new AbortController();
    controller.abort(new Error("shutting down"));
    await expect(
      broker.publish(topic, [{ key: "k", value: new Uint8Array(1), headers: {} }], {
        signal: controller.signal,
      }),
    ).rejects.toThrow("shutting down");
  });

  it("drains a connection it opened on close, and leaves the application's connection open", async () => {
    const { stream, topic } = await freshStream();
    const own = await createNatsBroker({ servers: server.url });
    const shared = await createNatsBroker({ connection: nc });
    const writing = createBrokerSink({ broker: own, topic }).write(sampleEvents());
    await own.close();
    await writing;
    await shared.close();

    expect(own.connection.isClosed()).toBe(true);
    expect(nc.isClosed()).toBe(false);
    expect(await readStream(nc, stream)).toHaveLength(DETAIL_KINDS.length);
    await expect(own.publish(topic, [])).rejects.toThrow("nats: publish after close()");
  });

  describe("rejects bad options at construction, naming the option", () => {
    const cases: [string, () => NatsBrokerOptions, RegExp][] = [
      [
        "neither connection nor servers",
        () => ({}),
        /^nats broker: give exactly one of `connection` and `servers`$/,
      ],
      [
        "both connection and servers",
        () => ({ connection: nc, servers: server.url }),
        /^nats broker: give exactly one of `connection` and `servers`$/,
      ],
      ["an empty server list", () => ({ servers: [] }), /^nats broker: `servers` .*; it is an empty list$/],
      [
        "no options at all",
        () => undefined as unknown as NatsBrokerOptions,
        /^nats broker: options must be an object/,
      ],
      [
        "a port number for servers",
        () => ({ servers: 4222 as unknown as string }),
        /^nats broker: `servers` must be a server URL or a non-empty list of them; it is a number$/,
      ],
      [
        "an empty server URL, which the client takes as 127.0.0.1:4222",
        () => ({ servers: "" }),
        /^nats broker: `servers` must be a server URL or a non-empty list of them; it is empty$/,
      ],
      [
        "a misspelt option",
        () => ({ connection: nc, ackTimeoutMS: 100 }) as NatsBrokerOptions,
        /^nats broker: unknown option `ackTimeoutMS` \(did you mean `ackTimeoutMs`\?\)$/,
      ],
      ["an empty stream name", () => ({ connection: nc, stream: "" }), /^nats broker: `stream` /],
      [
        "a zero ack timeout",
        () => ({ connection: nc, ackTimeoutMs: 0 }),
        /^nats broker: `ackTimeoutMs` .*, got 0$/,
      ],
      [
        "a fractional in-flight limit",
        () => ({ connection: nc, maxInFlight: 1.5 }),
        /^nats broker: `maxInFlight` .*, got 1.5$/,
      ],
    ];
    for (const [what, options, message] of cases) {
      it(what, async () => {
        const creating = createNatsBroker(options());
        await expect(creating).rejects.toThrow(AuditConfigError);
        await expect(creating).rejects.toThrow(message);
      });
    }
  });
});
