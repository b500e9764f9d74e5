/**
 * A consumer or stream deleted under a running ingester: the server leaves its pulls unanswered, as a
 * server that is down would. The fetch error says which is gone, instead of "heartbeats missed".
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { expect, it } from "vitest";
import { createNatsSource } from "../../src/nats/index.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

it("says the consumer no longer exists when it was deleted mid-ingest", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "GONE_C", subjects: ["gone-c.>"] });
  const source = await createNatsSource({ connection: nc(), stream: "GONE_C", consumer: "ingest" });
  const signal = new AbortController().signal;
  expect(await source.fetch(10, 1000, signal)).toStrictEqual([]);
  await jsm.consumers.delete("GONE_C", "ingest");

  await expect(source.fetch(10, 1000, signal)).rejects.toThrow(
    'nats GONE_C/ingest: fetch failed: consumer "ingest" of stream "GONE_C" no longer exists (deleted); ' +
      "restart ingest to create it again",
  );
});

it("says the stream no longer exists when it was deleted mid-ingest", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "GONE_S", subjects: ["gone-s.>"] });
  const source = await createNatsSource({ connection: nc(), stream: "GONE_S", consumer: "ingest" });
  const signal = new AbortController().signal;
  expect(await source.fetch(10, 1000, signal)).toStrictEqual([]);
  await jsm.streams.delete("GONE_S");

  await expect(source.fetch(10, 1000, signal)).rejects.toThrow(
    'nats GONE_S/ingest: fetch failed: stream "GONE_S" no longer exists (deleted); ' +
      "recreate it and the consumer, or point ingest at another",
  );
});
