// A stream of another JetStream domain: a leaf node with its own JetStream (domain "leaf") whose hub
// (domain "hub") holds the audit stream, two real nats-servers. Servers publish through the leaf with
// no domain (a publish goes by subject); the stream is made and ingested from the leaf by naming the
// hub's domain, with the lost count read from the hub's ack subjects (which carry the domain).
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { createIngester } from "../../src/ingest/index.js";
import { createNatsBroker, createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { freePort } from "../helpers/free-port.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { until } from "../ingest/fleet.js";

let hub: NatsServer | undefined;
let leaf: NatsServer | undefined;
let hubConnection: NatsConnection | undefined;
let leafConnection: NatsConnection | undefined;
const toHub = () => hubConnection as NatsConnection;
const toLeaf = () => leafConnection as NatsConnection;

beforeAll(async () => {
  const leafPort = await freePort();
  hub = await startNatsServer({
    config: `jetstream { domain: hub }\nleafnodes { listen: "127.0.0.1:${leafPort}" }`,
  });
  leaf = await startNatsServer({
    config: `jetstream { domain: leaf }\nleafnodes { remotes: [ { url: "nats://127.0.0.1:${leafPort}" } ] }`,
  });
  hubConnection = await connect({ servers: hub.url });
  leafConnection = await connect({ servers: leaf.url });
  // The leaf connects to its hub on its own: ready once the hub's JetStream answers through it.
  await until(
    () =>
      jetstreamManager(toLeaf(), { domain: "hub" }).then(
        () => true,
        () => false,
      ),
    "the hub's JetStream answering through the leaf",
  );
});

afterAll(async () => {
  await leafConnection?.close();
  await hubConnection?.close();
  await leaf?.stop();
  await hub?.stop();
});

describe("a stream of another JetStream domain (a leaf node's hub)", () => {
  it("is made, published to and ingested through the leaf, and what the hub removed is counted as lost", async () => {
    const made = await ensureAuditStream(toLeaf(), { name: "AUDIT", subjects: ["audit.>"], domain: "hub" });
    expect([made.action, made.info.config.name]).toStrictEqual(["created", "AUDIT"]);
    expect((await (await jetstreamManager(toHub())).streams.info("AUDIT")).config.subjects).toStrictEqual([
      "audit.>",
    ]);
    // Opened once before the events come: the consumer exists, its position known.
    const opened = await createNatsSource({
      connection: toLeaf(),
      domain: "hub",
      stream: "AUDIT",
      consumer: "ingest",
    });
    await opened.close();

    const broker = await createNatsBroker({ connection: toLeaf(), stream: "AUDIT" });
    const emitter = createBrokerEmitter({ broker, topic: "audit.events" });
    for (const n of [1, 2, 3]) emitter.emit(sampleEvent({ eventId: `domain-${n}` }));
    expect((await emitter.flush()).ok).toBe(true);
    await emitter.close();
    await (await jetstreamManager(toHub())).streams.deleteMessage("AUDIT", 2);

    const source = await createNatsSource({
      connection: toLeaf(),
      domain: "hub",
      stream: "AUDIT",
      consumer: "ingest",
    });
    const store = openAuditStore({ path: join(tempDir(), "audit.db") });
    const reported: string[] = [];
    const ingester = createIngester({ source, store, onError: (error) => reported.push(error.message) });
    await until(() => ingester.stats().inserted === 2, "the 2 events kept inserted");
    await ingester.stop();
    const ids = store.query({}).events.map((event) => event.eventId);
    store.close();

    expect(ids.sort()).toStrictEqual(["domain-1", "domain-3"]);
    expect(ingester.stats()).toMatchObject({ received: 2, inserted: 2, lost: 1, errors: 0, lag: 0 });
    expect(reported).toStrictEqual([
      "nats AUDIT/ingest: 1 message was removed by the broker before ingest stored them (retention " +
        "limits or deletions): their events are lost",
    ]);
    const pending = await (await jetstreamManager(toHub())).consumers.info("AUDIT", "ingest");
    expect([pending.num_ack_pending, pending.num_pending]).toStrictEqual([0, 0]);
  });

  it("is not found without `domain`: the error names the domain looked in", async () => {
    await ensureAuditStream(toHub(), { name: "AUDIT_B", subjects: ["audit-b.>"] });
    await expect(
      createNatsSource({ connection: toLeaf(), stream: "AUDIT_B", consumer: "ingest" }),
    ).rejects.toThrow(
      'nats AUDIT_B/ingest: stream not found in JetStream domain "leaf"; a stream of another domain ' +
        "(a leaf node's hub) needs `domain`",
    );
  });

  it("a domain no JetStream answers for is named", async () => {
    await expect(
      createNatsSource({ connection: toLeaf(), domain: "nowhere", stream: "AUDIT", consumer: "ingest" }),
    ).rejects.toThrow(
      'nats AUDIT/ingest: no JetStream answers for domain "nowhere" (jetstream is not enabled): check the ' +
        "domain's name, and that the server connected to reaches it (a leaf node's connection to its hub)",
    );
  });
});
