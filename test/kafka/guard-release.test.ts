// The Kafka clients' connections are guarded through @platformatic/kafka's `instances` diagnostics
// channel while one of our clients is open (src/kafka/guard-connections.ts). A source whose close could
// not leave its group (Kafka gone) never gets the client's `client:close`: the guard is let go all the
// same once close() settled. Over the loopback Kafka wire stand-in (no Kafka broker runs here), which
// speaks the protocol the real client uses.
import { hasSubscribers } from "node:diagnostics_channel";
import { instancesChannel } from "@platformatic/kafka";
import { expect, it } from "vitest";
import { createKafkaSource } from "../../src/kafka/index.js";
import { seedEvents } from "../cli/helpers.js";
import { startWireBroker } from "./wire-broker/index.js";
import { publishToWire } from "./wire-publish.js";

it("lets the connection guard go when close() could not leave the group", async () => {
  const kafka = await startWireBroker();
  try {
    kafka.createTopic("audit");
    await publishToWire(kafka, "audit", seedEvents(3));
    const warnings: string[] = [];
    const source = await createKafkaSource({
      bootstrapBrokers: kafka.bootstrapBrokers,
      topic: "audit",
      groupId: "ingest",
      onError: (error) => warnings.push(error.message),
    });
    const fetched = [];
    while (fetched.length < 3) fetched.push(...(await source.fetch(3, 1000, new AbortController().signal)));
    await source.ack(fetched);
    expect(hasSubscribers(instancesChannel.name)).toBe(true);

    await kafka.stop();
    await source.close();

    expect(warnings).toStrictEqual([expect.stringContaining('leaving group "ingest"')]);
    expect(hasSubscribers(instancesChannel.name)).toBe(false);
  } finally {
    await kafka.close();
  }
}, 30_000);
