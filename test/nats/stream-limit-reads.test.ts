/**
 * The broker reads a stream's max_msg_size (review R100). A read that failed used to be made again
 * before every publish, in the publish's turn: a user without permission for `$JS.API.STREAM.INFO`
 * paid a refused request per publish, and when JetStream did not answer, every publish waited up to
 * `ackTimeoutMs` for it. Now a publish never waits for a read: it is made once (at connect with
 * `stream`, else in the background at the first publish to a subject), again after a refusal as too
 * large or 30 s after one failed, and for 256 subjects at most.
 *
 * A real nats-server with accounts: a user denied the stream lookups (the server refuses the request,
 * and says so on the connection, which is what these tests count), and an account whose stream lookups
 * are mapped to a subject a listener hears and never answers: a JetStream that does not answer, which
 * nats-server itself never is.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection, PermissionViolationError } from "@nats-io/transport-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createNatsBroker } from "../../src/nats/index.js";
import { createStreamLimits } from "../../src/nats/stream-limits.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { readStream } from "./stream-reader.js";

// Test-only credentials of a throwaway server.
const CONFIG = `accounts: {
  A: {
    jetstream: enabled
    users: [
      { user: admin, password: admin-pw }
      { user: nolookup, password: nolookup-pw, permissions: { publish: { deny: ["$JS.API.STREAM.INFO.>", "$JS.API.STREAM.NAMES"] } } }
    ]
  }
  B: {
    jetstream: enabled
    users: [ { user: silent, password: silent-pw } ]
    mappings: { "$JS.API.STREAM.NAMES": "unanswered.names", "$JS.API.STREAM.INFO.*": "unanswered.info.{{wildcard(1)}}" }
  }
}`;

let server: NatsServer;
const connections: NatsConnection[] = [];

beforeAll(async () => {
  server = await startNatsServer({ config: CONFIG });
});

afterAll(async () => {
  await Promise.all(connections.splice(0).map((nc) => nc.close()));
  await server?.stop();
});

async function connectAs(user: "admin" | "nolookup" | "silent"): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, user, pass: `${user}-pw` });
  connections.push(nc);
  return nc;
}

/** The subjects of the publishes the server refused `nc` by permission, as it says them. */
function refusedLookups(nc: NatsConnection): string[] {
  const subjects: string[] = [];
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "error" && status.error instanceof PermissionViolationError)
        subjects.push(status.error.subject);
    }
  })();
  return subjects;
}

/** The requests the server routed to `unanswered.>`, heard by a listener that never answers. */
async function unansweredLookups(listener: NatsConnection): Promise<string[]> {
  const subjects: string[] = [];
  listener.subscribe("unanswered.>", {
    callback: (_error, msg) => {
      subjects.push(msg.subject);
    },
  });
  await listener.flush();
  return subjects;
}

/**
 * Once every request `nc` sent so far reached the server, and what the server said back or routed
 * (a refusal on `nc`, a message to `listener`) was read: the server answers a PING in order.
 */
async function settle(nc: NatsConnection, listener?: NatsConnection): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve)); // a read just started sends its request
  await nc.flush();
  await listener?.flush();
  await new Promise((resolve) => setImmediate(resolve)); // the status iterator's turn
}

const message = (id: string) => ({
  key: id,
  value: new Uint8Array(10),
  headers: { "grpc-audit-event-id": id },
});

it("asks for the named stream's info once, at connect, when the user may not: never per publish", async () => {
  const admin = await connectAs("admin");
  await (await jetstreamManager(admin)).streams.add({ name: "DENIED", subjects: ["denied.>"] });
  const nc = await connectAs("nolookup");
  const refused = refusedLookups(nc);
  // A publish waiting for a read would wait this long, past the test's timeout.
  const broker = await createNatsBroker({ connection: nc, stream: "DENIED", ackTimeoutMs: 60_000 });
  for (let i = 0; i < 5; i++) await broker.publish("denied.events", [message(`evt-${i}`)]);
  await settle(nc);

  expect(refused).toStrictEqual(["$JS.API.STREAM.INFO.DENIED"]);
  expect(broker.maxMessageBytes).toBe(nc.info?.max_payload);
  const stored = await readStream(admin, "DENIED");
  expect(stored.map((m) => m.headers["Nats-Msg-Id"])).toStrictEqual([
    "evt-0",
    "evt-1",
    "evt-2",
    "evt-3",
    "evt-4",
  ]);
  await broker.close();
}, 20_000);

it("never holds a publish for a stream lookup JetStream does not answer", async () => {
  const nc = await connectAs("silent");
  const listener = await connectAs("silent");
  const asked = await unansweredLookups(listener);
  await (await jetstreamManager(nc, { checkAPI: false })).streams.add({
    name: "QUIET",
    subjects: ["quiet.>"],
  });
  // Without `stream`: the lookup of the stream capturing the subject waits up to 60 s for an answer.
  const broker = await createNatsBroker({ connection: nc, ackTimeoutMs: 60_000 });
  for (let i = 0; i < 5; i++) await broker.publish("quiet.events", [message(`evt-${i}`)]);
  await settle(nc, listener);

  expect(asked).toStrictEqual(["unanswered.names"]);
  await broker.close();
}, 20_000);

it("reads the named stream once when JetStream does not answer, not again at each publish", async () => {
  const nc = await connectAs("silent");
  const listener = await connectAs("silent");
  const asked = await unansweredLookups(listener);
  await (await jetstreamManager(nc, { checkAPI: false })).streams.add({
    name: "QUIET_NAMED",
    subjects: ["named.>"],
  });
  // createNatsBroker waits for the read at connect, up to ackTimeoutMs: that once only.
  const broker = await createNatsBroker({ connection: nc, stream: "QUIET_NAMED", ackTimeoutMs: 500 });
  for (let i = 0; i < 5; i++) await broker.publish("named.events", [message(`evt-${i}`)]);
  await settle(nc, listener);

  expect(asked).toStrictEqual(["unanswered.info.QUIET_NAMED"]);
  await broker.close();
}, 20_000);

it("looks up the streams of 256 subjects at most, each once", async () => {
  const admin = await connectAs("admin");
  await (await jetstreamManager(admin)).streams.add({ name: "MANY", subjects: ["many.>"] });
  const nc = await connectAs("nolookup");
  const refused = refusedLookups(nc);
  const broker = await createNatsBroker({ connection: nc, ackTimeoutMs: 60_000 });
  for (let i = 0; i < 300; i++) await broker.publish(`many.s${i}`, [message(`evt-${i}`)]);
  for (let i = 0; i < 10; i++) await broker.publish(`many.s${i}`, [message(`evt-again-${i}`)]);
  await settle(nc);

  expect(refused).toStrictEqual(Array(256).fill("$JS.API.STREAM.NAMES"));
  await broker.close();
}, 20_000);

it("reads a stream again 30 s after a failed read, and at once after a refusal as too large", async () => {
  const nc = await connectAs("nolookup");
  const refused = refusedLookups(nc);
  let now = 1000;
  const limits = createStreamLimits(nc, { stream: "LATER", ackTimeoutMs: 5000, nowMs: () => now });
  await limits.read("later.events");
  limits.readIfDue("later.events");
  now += 29_999;
  limits.readIfDue("later.events");
  await settle(nc);
  expect(refused).toHaveLength(1);

  now += 1;
  limits.readIfDue("later.events");
  await settle(nc);
  expect(refused).toHaveLength(2);
  // What the broker does after the stream refused a message as too large: no back-off.
  await limits.read("later.events");
  await settle(nc);
  expect(refused).toStrictEqual(Array(3).fill("$JS.API.STREAM.INFO.LATER"));
  expect(limits.smallest).toBe(Number.POSITIVE_INFINITY);
});

it("takes a stream without a max_msg_size of its own (-1) as no limit", async () => {
  const admin = await connectAs("admin");
  await (await jetstreamManager(admin)).streams.add({ name: "ROOMY", subjects: ["roomy.>"] });
  const limits = createStreamLimits(admin, { stream: undefined, ackTimeoutMs: 5000 });
  await limits.read("roomy.events");
  expect(limits.smallest).toBe(Number.POSITIVE_INFINITY);
  await (await jetstreamManager(admin)).streams.update("ROOMY", { max_msg_size: 700 });
  await limits.read("roomy.events");
  expect(limits.smallest).toBe(700);
});
