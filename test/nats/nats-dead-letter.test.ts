// createNatsSource's dead letters against a real nats-server: whether one is new, so that the
// ingester counts each message once.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { readStream } from "./stream-reader.js";

const nc = useNatsServer();

describe("createNatsSource deadLetter", () => {
  it("counts the copy of a dead letter whose first ack failed: that attempt was not counted", async () => {
    await ensureAuditStream(nc(), { name: "POISON", subjects: ["poison.>"] });
    await jetstream(nc()).publish("poison.events", new TextEncoder().encode("not an event"));
    const source = await createNatsSource({ connection: nc(), stream: "POISON", consumer: "ingest" });
    const signal = new AbortController().signal;
    const [first] = await source.fetch(10, 1000, signal);
    if (first === undefined) throw new Error("the poison message was not fetched");
    // Its consumer gone, the ack finds no one to confirm it: published, not acknowledged.
    const jsm = await jetstreamManager(nc());
    await jsm.consumers.delete("POISON", "ingest");
    await expect(source.deadLetter(first, "not an event")).rejects.toThrow();
    await jsm.consumers.add("POISON", {
      durable_name: "ingest",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(30_000),
    });
    const [again] = await source.fetch(10, 1000, signal);
    if (again === undefined) throw new Error("the poison message did not come again");
    expect([again.where, await source.deadLetter(again, "not an event")]).toStrictEqual([
      first.where,
      undefined,
    ]);
    // The stream kept the dead letter once; a third copy would be a duplicate.
    expect(await readStream(nc(), "POISON_DEAD_LETTER")).toHaveLength(1);
  });

  it("dead-letters a message at a sequence dead-lettered before, once its stream was made again: another message", async () => {
    const text = new TextEncoder();
    const signal = new AbortController().signal;
    const js = jetstream(nc());
    const jsm = await jetstreamManager(nc());
    const letterOf = async (poison: string) => {
      await ensureAuditStream(nc(), { name: "REMADE", subjects: ["remade.>"] });
      await js.publish("remade.events", text.encode(poison));
      const source = await createNatsSource({ connection: nc(), stream: "REMADE", consumer: "ingest" });
      const [message] = await source.fetch(10, 1000, signal);
      if (message === undefined) throw new Error(`${poison} was not fetched`);
      return [message.where, await source.deadLetter(message, "not an event")];
    };
    const first = await letterOf("first poison");
    await jsm.streams.delete("REMADE");
    const second = await letterOf("second poison");

    expect([first, second]).toStrictEqual([
      ["REMADE seq 1", undefined],
      ["REMADE seq 1", undefined],
    ]);
    const letters = await readStream(nc(), "REMADE_DEAD_LETTER");
    expect(letters.map((m) => new TextDecoder().decode(m.data))).toStrictEqual([
      "first poison",
      "second poison",
    ]);
  });
});
