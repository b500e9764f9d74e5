// BrokerEmitter → NATS JetStream against the raw client publishing the same events with the same window
// (256 publishes awaiting their PubAck), to a real nats-server -js on loopback, alternating rounds. Both
// start from the same AuditEvent objects and end when every PubAck is in: the raw loop encodes each
// event (protobuf) as it publishes it, as a service publishing events itself must. Needs Debian's
// nats-server (as the tests do). Part of `npm run bench`.
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createBrokerEmitter } from "../src/brokers/index.js";
import { newEventId } from "../src/event/ids.js";
import { encodeEvent } from "../src/event/serialize.js";
import { createNatsBroker, ensureAuditStream } from "../src/nats/index.js";
import { sampleEvent } from "../test/helpers/events.js";
import { startNatsServer } from "../test/helpers/nats-server.js";
import { median, writeResults } from "./results.js";

const EVENTS = Number(process.env.BENCH_NATS_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW = 256;

const server = await startNatsServer();
const nc = await connect({ servers: server.url });
await ensureAuditStream(nc, { name: "BENCH", subjects: ["bench.>"], maxBytes: 4 * 1024 * 1024 * 1024 });
const js = jetstream(nc);

const freshEvents = () =>
  Array.from({ length: EVENTS }, () => sampleEvent({ kind: "resourceMutation", eventId: newEventId() }));

async function raw(): Promise<number> {
  const events = freshEvents();
  const started = performance.now();
  const inFlight = new Set<Promise<unknown>>();
  for (const event of events) {
    const ack = js
      .publish("bench.raw", encodeEvent(event), { msgID: event.eventId })
      .finally(() => inFlight.delete(ack));
    inFlight.add(ack);
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return (EVENTS / (performance.now() - started)) * 1000;
}

async function audited(): Promise<number> {
  const events = freshEvents();
  // The emitter's close() closes its broker (never the connection it was given): one broker per round.
  const broker = await createNatsBroker({ connection: nc, maxInFlight: WINDOW });
  const emitter = createBrokerEmitter({
    broker,
    topic: "bench.audit",
    delivery: {
      maxQueueEvents: EVENTS,
      maxQueueBytes: 256 * 1024 * 1024,
      onError: (error) =>
        console.error(`delivery: ${error.message}: ${(error.cause as Error | undefined)?.message ?? ""}`),
    },
  });
  const started = performance.now();
  for (const event of events) {
    if (emitter.emit(event) !== "accepted") throw new Error("the benchmark queue is too small");
  }
  const flushed = await emitter.flush();
  if (!flushed.ok)
    throw new Error(
      `flush failed: ${JSON.stringify(flushed.results.map((r) => [r.status, r.error?.message]))} ${JSON.stringify(emitter.stats())}`,
    );
  const elapsed = performance.now() - started;
  await emitter.close();
  return (EVENTS / elapsed) * 1000;
}

const rawRates: number[] = [];
const ourRates: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  if (round % 2 === 0) {
    rawRates.push(await raw());
    ourRates.push(await audited());
  } else {
    ourRates.push(await audited());
    rawRates.push(await raw());
  }
}
const ratios = ourRates.map((r, i) => r / (rawRates[i] ?? Number.NaN));
const table = [
  { publisher: "raw @nats-io/jetstream client", "events/s": Math.round(median(rawRates)), ratio: "1.00" },
  {
    publisher: "BrokerEmitter (pipeline + NATS broker)",
    "events/s": Math.round(median(ourRates)),
    ratio: median(ratios).toFixed(2),
  },
];
console.log(
  `\nNATS JetStream publishing, ${EVENTS} events × ${ROUNDS} alternating rounds, window ${WINDOW}, node ${process.version}; target ≥ 0.8× raw`,
);
console.table(table);
writeResults("nats-sink", { events: EVENTS, rounds: ROUNDS, table, rawRates, ourRates });
await nc.drain();
await server.stop();
