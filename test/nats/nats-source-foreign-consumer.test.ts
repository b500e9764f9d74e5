/**
 * A durable consumer made elsewhere, under the name ingest is given: one without explicit acks would
 * take a batch whose insert failed as done (its events lost silently), and one filtering another
 * subject than asked would read other events, and one with a max_deliver would stop delivering a
 * message whose insert failed that often (its event lost silently). The source refuses them at
 * startup, naming them.
 */
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { beforeAll, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createNatsSource } from "../../src/nats/index.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

beforeAll(async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.streams.add({ name: "FOREIGN", subjects: ["foreign.>"] });
});

it.each([AckPolicy.None, AckPolicy.All])(
  "refuses an existing consumer with ack policy %s",
  async (policy) => {
    const jsm = await jetstreamManager(nc());
    await jsm.consumers.add("FOREIGN", { durable_name: `acks-${policy}`, ack_policy: policy });

    const opened = createNatsSource({ connection: nc(), stream: "FOREIGN", consumer: `acks-${policy}` });
    await expect(opened).rejects.toThrow(AuditConfigError);
    await expect(opened).rejects.toThrow(
      `nats source: consumer "acks-${policy}" of stream "FOREIGN" has ack policy "${policy}"; ingest needs ` +
        '"explicit" acks, or events whose insert failed are lost: delete it, or name another consumer',
    );
  },
);

it("refuses an existing consumer with a max_deliver: a store down that many retries would lose events", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.consumers.add("FOREIGN", {
    durable_name: "max-deliver",
    ack_policy: AckPolicy.Explicit,
    max_deliver: 5,
  });

  const opened = createNatsSource({ connection: nc(), stream: "FOREIGN", consumer: "max-deliver" });
  await expect(opened).rejects.toThrow(AuditConfigError);
  await expect(opened).rejects.toThrow(
    'nats source: consumer "max-deliver" of stream "FOREIGN" has max_deliver 5; a message not stored after ' +
      "5 deliveries (a store down, an ingester killed) is never delivered again and its event lost: set " +
      "max_deliver -1, delete it, or name another consumer",
  );
});

it("refuses an existing consumer that filters another subject than asked", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.consumers.add("FOREIGN", {
    durable_name: "other-filter",
    ack_policy: AckPolicy.Explicit,
    filter_subject: "foreign.billing",
  });

  await expect(
    createNatsSource({
      connection: nc(),
      stream: "FOREIGN",
      consumer: "other-filter",
      subject: "foreign.projects",
    }),
  ).rejects.toThrow(
    'nats source: consumer "other-filter" of stream "FOREIGN" filters ["foreign.billing"], not ' +
      '"foreign.projects" as asked: delete it, or name another consumer',
  );
});

it("uses an existing explicit-ack consumer with the asked filter", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.consumers.add("FOREIGN", {
    durable_name: "same-filter",
    ack_policy: AckPolicy.Explicit,
    filter_subject: "foreign.projects",
  });

  const source = await createNatsSource({
    connection: nc(),
    stream: "FOREIGN",
    consumer: "same-filter",
    subject: "foreign.projects",
  });
  expect(source.name).toBe("nats FOREIGN/same-filter");
  await source.close();
});
