// A message whose event carries a time past what a JavaScript Date holds (a record summary's `since`
// at 10^15 s as protobuf; the same as proto3 JSON text past +275760-09-13) decodes without an error,
// but stored, it could be shown by no page: the ingester dead-letters it, naming the field, and stores
// the rest, from a real `nats-server -js` into a real SQLite store.
import { join } from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BROKER_CONTENT_TYPE, BROKER_HEADER } from "../../src/brokers/event-headers.js";
import { eventToJson } from "../../src/event/serialize.js";
import { DEAD_LETTER_REASON_HEADER } from "../../src/nats/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { readStream } from "../nats/stream-reader.js";
import { withFarSince } from "../store/far-time.js";
import { freshStream, ingestOneBatch, natsConnection, publishTrail } from "./fleet.js";

let nats: NatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await natsConnection(nats.url);
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

it("dead-letters an event whose record summary's `since` no Date holds, as protobuf and as JSON, and stores the rest", async () => {
  const { stream, topic } = await freshStream(nc);
  const good = await publishTrail(nats.url, topic, 3);
  const js = jetstream(nc);
  await js.publish(topic, withFarSince(sampleEvent({ kind: "recordSummary" })));
  const json = headers();
  json.set(BROKER_HEADER.CONTENT_TYPE, BROKER_CONTENT_TYPE.json);
  const farJson = {
    ...eventToJson(sampleEvent({ kind: "recordSummary" })),
    recordSummary: { since: "+275761-01-01T00:00:00Z" },
  };
  await js.publish(topic, new TextEncoder().encode(JSON.stringify(farJson)), { headers: json });
  const store = openAuditStore({ path: join(tempDir(), "far-times.db") });
  try {
    const { stats, errors } = await ingestOneBatch(nc, stream, store);
    expect(errors).toStrictEqual([]);
    expect(stats).toMatchObject({ inserted: good.length, deadLettered: 2, errors: 0 });
    const dead = await readStream(nc, `${stream}_DEAD_LETTER`);
    expect(dead.map((m) => m.headers[DEAD_LETTER_REASON_HEADER])).toStrictEqual(
      Array(2).fill("the event's recordSummary.since is not a time a JavaScript Date can hold"),
    );
    // What is stored reads back whole: no unreadable row.
    expect(store.query({}, { limit: 100 })).toStrictEqual({
      events: [...good].reverse(),
      nextCursor: undefined,
    });
  } finally {
    store.close();
  }
});

// Review R131: such a number in JSON made encodeEvent throw outside the poison check: `ingest` exited 1
// on the message, and again on every restart, storing nothing after it.
it("dead-letters a JSON event with a 64-bit number beyond 2^53 - 1, which no reader could read back, and stores the rest", async () => {
  const { stream, topic } = await freshStream(nc);
  const good = await publishTrail(nats.url, topic, 3);
  const json = headers();
  json.set(BROKER_HEADER.CONTENT_TYPE, BROKER_CONTENT_TYPE.json);
  const beyond = { ...eventToJson(sampleEvent()), chain: { chainId: "c", seq: "9007199254740993" } };
  await jetstream(nc).publish(topic, new TextEncoder().encode(JSON.stringify(beyond)), { headers: json });
  const store = openAuditStore({ path: join(tempDir(), "beyond.db") });
  try {
    const { stats, errors } = await ingestOneBatch(nc, stream, store);
    expect(errors).toStrictEqual([]);
    expect(stats).toMatchObject({ inserted: good.length, deadLettered: 1, errors: 0 });
    const dead = await readStream(nc, `${stream}_DEAD_LETTER`);
    expect(dead.map((m) => m.headers[DEAD_LETTER_REASON_HEADER])).toStrictEqual([
      "not an AuditEvent as application/json: invalid uint64: 9007199254740992 is beyond 2^53 - 1, where no reader of the event could read it",
    ]);
  } finally {
    store.close();
  }
});
