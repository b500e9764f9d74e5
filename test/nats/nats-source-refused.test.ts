// The NATS source when the server refuses what ingest needs while it runs: acks refused by the user's
// permissions (a plain ack is never answered: only the connection hears of it), dead letters refused,
// and a consumer given a max_deliver by an operator after open. Each must reach the ingester's
// onError and stats, not loop silently.
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/index.js";
import { createIngester } from "../../src/ingest/index.js";
import { createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { openAuditStore } from "../../src/store/index.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { until } from "../ingest/fleet.js";

const CONFIG = `accounts: { A: { jetstream: enabled, users: [
  { user: admin, password: a },
  { user: ing, password: i, permissions: { publish: { deny: ["$JS.ACK.>", "grpc-audit.dead-letter.>"] } } },
  { user: noapi, password: n, permissions: { publish: { deny: ["$JS.API.CONSUMER.>"] } } }
] } }`;

let server: NatsServer;
let admin: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer({ config: CONFIG });
  admin = await connect({ servers: server.url, user: "admin", pass: "a" });
});
afterAll(async () => {
  await admin?.close();
  await server?.stop();
});

let streams = 0;
/** A fresh stream capturing `<prefix>.>` with `count` events published to it (and `poison` undecodable messages). */
async function streamWith(count: number, poison = 0): Promise<string> {
  streams++;
  const stream = `REFUSED_${streams}`;
  const topic = `refused${streams}.events`;
  await ensureAuditStream(admin, { name: stream, subjects: [`refused${streams}.>`] });
  const js = jetstream(admin);
  for (let i = 0; i < count; i++)
    await js.publish(topic, encodeEvent(sampleEvent({ eventId: eventId(streams, i) })));
  for (let i = 0; i < poison; i++) await js.publish(topic, new TextEncoder().encode("poison"));
  return stream;
}

const eventId = (test: number, i: number) =>
  `019b7ca9-8f2e-7000-800${test}-${i.toString(16).padStart(12, "0")}`;

/** A source on consumer "ingest" of `stream`, connected as `user` of CONFIG. */
const openAs = (user: string, pass: string, stream: string, options: { ackWaitMs?: number } = {}) =>
  createNatsSource({
    servers: server.url,
    connectOptions: { user, pass },
    stream,
    consumer: "ingest",
    ...options,
  });

describe("NATS source refused by the server while it runs", () => {
  it("fails to open, naming the source, when the user may not read the consumer", async () => {
    const stream = await streamWith(0);
    const opening = openAs("noapi", "n", stream);
    await expect(opening).rejects.toThrow(
      `nats ${stream}/ingest: open failed: Permissions Violation for Publish to "$JS.API.CONSUMER.INFO.${stream}.ingest"`,
    );
  }, 30_000);

  it("fails an ack the user may not send, naming the source and the permission", async () => {
    const stream = await streamWith(3);
    const source = await openAs("ing", "i", stream, { ackWaitMs: 2000 });
    try {
      const messages = await source.fetch(10, 1000, new AbortController().signal);
      expect(messages).toHaveLength(3);
      await expect(source.ack(messages)).rejects.toThrow(
        new RegExp(
          `^nats ${stream}/ingest: acks of 3 messages refused by the server \\(Permissions Violation for ` +
            `Publish to "\\$JS\\.ACK\\.${stream}\\.ingest\\.[0-9.]+"\\): the user needs permission to publish ` +
            `to \\$JS\\.ACK\\.${stream}\\.ingest\\.>; until then every message is delivered again after the ` +
            "ack wait, and stored as a duplicate$",
        ),
      );
    } finally {
      await source.close();
    }
  }, 30_000);

  it("an ingester reports refused acks and dead letters in onError and its error count", async () => {
    const stream = await streamWith(5, 1);
    const source = await openAs("ing", "i", stream, { ackWaitMs: 2000 });
    const store = openAuditStore({ path: `${tempDir()}/audit.db` });
    const errors: string[] = [];
    const ingester = createIngester({ source, store, onError: (error) => errors.push(error.message) });
    try {
      await until(
        () => errors.some((e) => e.includes("acks of")) && errors.some((e) => e.includes("dead letter")),
        "the refused acks and dead letter reported",
      );
    } finally {
      await ingester.stop();
      await source.close();
      store.close();
    }
    expect(ingester.stats().errors).toBeGreaterThanOrEqual(2);
    expect(errors.find((e) => e.includes("acks of"))).toMatch(
      new RegExp(`^nats ${stream}/ingest: acks of 5 messages refused by the server \\(Permissions Violation`),
    );
    expect(errors.find((e) => e.includes("dead letter"))).toMatch(
      new RegExp(
        `^nats ${stream}/ingest: dead letter of ${stream} seq 6 to "grpc-audit\\.dead-letter\\.${stream}" ` +
          `\\(stream "${stream}_DEAD_LETTER"\\) failed: Permissions Violation for Publish to ` +
          `"grpc-audit\\.dead-letter\\.${stream}"`,
      ),
    );
  }, 30_000);

  it("reports a max_deliver an operator set on the consumer after open, once an insert failed", async () => {
    const stream = await streamWith(0);
    const source = await openAs("admin", "a", stream);
    const jsm = await jetstreamManager(admin);
    const { config } = await jsm.consumers.info(stream, "ingest");
    expect(config.ack_policy).toBe(AckPolicy.Explicit);
    await jsm.consumers.update(stream, "ingest", { ...config, max_deliver: 1 });
    const js = jetstream(admin);
    for (let i = 0; i < 10; i++)
      await js.publish(`refused${streams}.events`, encodeEvent(sampleEvent({ eventId: eventId(9, i) })));
    const sqlite = openAuditStore({ path: `${tempDir()}/audit.db` });
    let failures = 1;
    // The real store, down for the first insert.
    const store = {
      insert: (events: Parameters<typeof sqlite.insert>[0]) => {
        if (failures-- > 0) throw new Error("store down");
        return sqlite.insert(events);
      },
    };
    const errors: string[] = [];
    const ingester = createIngester({ source, store, onError: (error) => errors.push(error.message) });
    try {
      await until(() => errors.some((e) => e.includes("max_deliver")), "the max_deliver reported");
    } finally {
      await ingester.stop();
      await source.close();
      sqlite.close();
    }
    expect(errors[0]).toBe("store down");
    expect(errors.find((e) => e.includes("max_deliver"))).toBe(
      `nats ${stream}/ingest: the consumer was changed since open: consumer "ingest" of stream "${stream}" ` +
        "has max_deliver 1; a message not stored after 1 deliveries (a store down, an ingester killed) is " +
        "never delivered again and its event lost: set max_deliver -1, delete it, or name another consumer",
    );
    expect(ingester.stats().errors).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
