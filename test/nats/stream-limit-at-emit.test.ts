/**
 * A stream whose `max_msg_size` is below the server's max_payload used to be learned only when it
 * refused a message: emit kept accepting events over it, and a fail-closed call with "fail-rpc" was
 * answered OK for every one of them, each dropped after ("too_large", droppedAfterAccept), the stream
 * empty (review R100). Now the broker reads the stream's max_msg_size (at connect for `stream`, else
 * in the background at its first publish to the subject) and the pipeline refuses at emit every event as large as one
 * the sink refused on write: the calls after that first refusal answer UNAVAILABLE.
 * A real nats-server, a real gRPC server and client on loopback.
 */

import { status } from "@grpc/grpc-js";
import { jetstreamManager } from "@nats-io/jetstream";
import { expect, it, vi } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { callsAfterRefusal } from "../delivery/fail-closed-after-refusal.js";
import { sampleEvent } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

it("reads the named stream's max_msg_size at connect: the first event over it is refused at emit", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "TINY_NAMED", subjects: ["tiny-named.>"], max_msg_size: 300 });
  const broker = await createNatsBroker({ connection: nc(), stream: "TINY_NAMED" });
  expect(broker.maxMessageBytes).toBe(300);
  const emitter = createBrokerEmitter({
    broker,
    topic: "tiny-named.events",
    delivery: { onError: () => {} },
  });

  expect(emitter.emit(sampleEvent({ kind: "resourceMutation" }))).toBe("dropped");
  await emitter.close();

  expect(emitter.stats()).toMatchObject({ accepted: 0, dropped: { too_large: 1 }, droppedAfterAccept: 0 });
  expect((await jsm.streams.info("TINY_NAMED")).state.messages).toBe(0);
});

it("reads the max_msg_size of the stream capturing the subject at its first publish, in the background", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "TINY_FOUND", subjects: ["tiny-found.>"], max_msg_size: 400 });
  await jsm.streams.add({ name: "ROOMY_FOUND", subjects: ["roomy-found.>"] });
  const broker = await createNatsBroker({ connection: nc() });
  const payload = nc().info?.max_payload;
  expect(broker.maxMessageBytes).toBe(payload);
  const small = { key: "evt-1", value: new Uint8Array(10), headers: { "grpc-audit-event-id": "evt-1" } };

  // A stream without a max_msg_size of its own (-1) leaves max_payload the limit (stream-limit-reads).
  await broker.publish("roomy-found.events", [small]);
  await broker.publish("tiny-found.events", [{ ...small, key: "evt-2" }]);
  // The publish does not wait for the read (it may get no answer): the limit comes when it does.
  await vi.waitFor(() => expect(broker.maxMessageBytes).toBe(400), { timeout: 10_000 });
  await broker.close();
});

it("answers UNAVAILABLE to the fail-closed calls after the stream refused the first event as too large", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "TINY_E2E", subjects: ["tiny-e2e.>"], max_msg_size: 300 });
  // No `stream`: nothing is known of the stream before the first publish (the review's setup).
  const broker = await createNatsBroker({ connection: nc() });
  const emitter = createBrokerEmitter({
    broker,
    topic: "tiny-e2e.events",
    delivery: { overflow: "fail-rpc", flushIntervalMs: 0, onError: () => {} },
  });
  const { first, later, stats } = await callsAfterRefusal(emitter);
  // The first call's events are accepted: the limit is learned when the stream refuses them.
  expect(first.code).toBe(status.OK);
  expect(later).toStrictEqual(Array(5).fill(status.UNAVAILABLE));
  expect(stats.accepted).toBe(first.accepted);
  expect(stats.delivered).toBe(0);
  expect(stats.droppedAfterAccept).toBe(first.accepted);
  // Every event handed to emit is accepted, refused or failed, once.
  const refused = (stats.dropped.too_large ?? 0) - stats.droppedAfterAccept;
  expect(refused).toBeGreaterThanOrEqual(5);
  expect(stats.failed).toBe(0);
  expect((await jsm.streams.info("TINY_E2E")).state.messages).toBe(0);
});
