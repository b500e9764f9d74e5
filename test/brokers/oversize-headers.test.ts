/**
 * An event under the broker sink's maxEventBytes whose message, with its headers, is over the
 * server's max_payload. docs/brokers.md: "An event larger than the broker accepts is refused at emit
 * and counted as dropped (too_large), never retried." The sink reserves 1 KiB for headers, but the
 * headers repeat the service name (twice with CloudEvents) and the event id, which have no bound.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { createNatsBroker, ensureAuditStream } from "../../src/nats/index.js";
import { sampleEvent } from "../helpers/events.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { readStream } from "../nats/stream-reader.js";

const MAX_PAYLOAD = 8192;
let server: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startNatsServer({ maxPayloadBytes: MAX_PAYLOAD });
  nc = await connect({ servers: server.url });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

/** An authz event of exactly `size` protobuf bytes with the given service name. */
function eventOfSize(size: number, service: string, kind: "authz" | "authn" = "authz") {
  const base = sampleEvent({ kind, service, operation: "" });
  const pad = size - encodeEvent(base).length - 3; // tag + 2-byte length of the operation
  const event = sampleEvent({ kind, service, operation: "o".repeat(pad) });
  expect(encodeEvent(event).length).toBe(size);
  return event;
}

describe("broker emitter: headers that push a message over max_payload", () => {
  it("counts the event as too_large and keeps delivering the events after it", async () => {
    await ensureAuditStream(nc, { name: "REVIEW_HDR", subjects: ["reviewhdr.>"] });
    const broker = await createNatsBroker({ connection: nc, stream: "REVIEW_HDR" });
    const errors: Error[] = [];
    const emitter = createBrokerEmitter({
      broker,
      topic: "reviewhdr.events",
      cloudEvents: true,
      delivery: { retry: { initialDelayMs: 5, maxDelayMs: 20 }, onError: (e) => errors.push(e) },
    });
    const service = "s".repeat(1200);
    // Just under the sink's limit (max_payload - 1 KiB): accepted at emit, as the docs say it fits.
    const big = eventOfSize(MAX_PAYLOAD - 1024, service);
    // The same long service on a small event makes a message well within the limit: delivered.
    const small = sampleEvent({ kind: "authn", service });
    emitter.emit(big); // NATS never takes it
    expect(emitter.emit(small)).toBe("accepted");

    const flushed = await emitter.flush({ timeoutMs: 2000 });
    const stored = await readStream(nc, "REVIEW_HDR");
    await emitter.close({ timeoutMs: 100 });

    expect(stored.map((m) => m.headers["grpc-audit-event-id"])).toStrictEqual([small.eventId]);
    expect(emitter.stats().dropped).toStrictEqual({ too_large: 1 });
    expect(flushed.ok).toBe(true);
    expect(errors.map((e) => e.message)).toStrictEqual([
      "nats:reviewhdr.events: dropped 1 event (too_large): larger than maxEventBytes or than the sink takes",
    ]);
  }, 20_000);
});
