/**
 * A durable consumer made elsewhere, under the name ingest is given: one without explicit acks would
 * take a batch whose insert failed as done (its events lost silently), and one filtering another
 * subject than asked would read other events, and one with a max_deliver would stop delivering a
 * message whose insert failed that often (its event lost silently); one sending headers only would
 * dead-letter every event, and one made to start at the newest messages skipped the older ones. The
 * source refuses them at startup, naming them, and an ack wait asked of a consumer that has another.
 */
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
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

it("refuses an ack wait other than an existing consumer's, and takes the consumer's when none is asked", async () => {
  const jsm = await jetstreamManager(nc());
  const first = await createNatsSource({
    connection: nc(),
    stream: "FOREIGN",
    consumer: "waits",
    ackWaitMs: 2000,
  });
  await first.close();
  expect((await jsm.consumers.info("FOREIGN", "waits")).config.ack_wait).toBe(2_000_000_000);

  const opened = createNatsSource({
    connection: nc(),
    stream: "FOREIGN",
    consumer: "waits",
    ackWaitMs: 60_000,
  });
  await expect(opened).rejects.toThrow(AuditConfigError);
  await expect(opened).rejects.toThrow(
    'nats source: consumer "waits" of stream "FOREIGN" has ack wait 2000 ms, not 60000 ms as asked; an ack ' +
      "wait applies when the consumer is created: ask none to use the consumer's, change the consumer's " +
      "ack_wait, or name another consumer",
  );
  for (const asked of [{ ackWaitMs: 2000 }, {}]) {
    const source = await createNatsSource({
      connection: nc(),
      stream: "FOREIGN",
      consumer: "waits",
      ...asked,
    });
    await source.close();
  }
  expect((await jsm.consumers.info("FOREIGN", "waits")).config.ack_wait).toBe(2_000_000_000);
});

it("refuses an ack wait that another ingester starting at once replaced with its own", async () => {
  const jsm = await jetstreamManager(nc());
  const asked = [10_000, 20_000];
  const opening = asked.map((ackWaitMs) =>
    createNatsSource({ connection: nc(), stream: "FOREIGN", consumer: "racing", ackWaitMs }),
  );
  const results = await Promise.allSettled(opening);
  const kept = ((await jsm.consumers.info("FOREIGN", "racing")).config.ack_wait ?? 0) / 1_000_000;
  // Each source open is one the consumer has the ack wait of: the other is refused, naming both.
  const opened = asked.filter((_, i) => results[i]?.status === "fulfilled");
  expect(opened).toStrictEqual([kept]);
  const refused = results.find((result) => result.status === "rejected");
  expect(refused?.status === "rejected" && String(refused.reason)).toMatch(
    new RegExp(`has ack wait ${kept} ms, not \\d+ ms as asked`),
  );
  for (const result of results) if (result.status === "fulfilled") await result.value.close();
});

it("refuses an existing consumer that sends headers only: every event would be dead-lettered, empty", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.consumers.add("FOREIGN", {
    durable_name: "headers-only",
    ack_policy: AckPolicy.Explicit,
    headers_only: true,
  });

  const opened = createNatsSource({ connection: nc(), stream: "FOREIGN", consumer: "headers-only" });
  await expect(opened).rejects.toThrow(AuditConfigError);
  await expect(opened).rejects.toThrow(
    'nats source: consumer "headers-only" of stream "FOREIGN" sends headers only (headers_only), without ' +
      "the events: each would go to the dead letters, empty: delete it, or name another consumer",
  );
});

it.each([
  [DeliverPolicy.New, "the messages"],
  [DeliverPolicy.Last, "all but the last message"],
  [DeliverPolicy.LastPerSubject, "all but the last message of each subject"],
])(
  "refuses an existing consumer with deliver policy %s: it skipped the messages stored before it",
  async (policy, skipped) => {
    const jsm = await jetstreamManager(nc());
    const js = jetstream(nc());
    for (let i = 0; i < 3; i++) await js.publish("foreign.projects", new Uint8Array([i]));
    await jsm.consumers.add("FOREIGN", {
      durable_name: `deliver-${policy}`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: policy,
      // The server takes last_per_subject only with a filter.
      filter_subject: "foreign.projects",
    });

    const opened = createNatsSource({
      connection: nc(),
      stream: "FOREIGN",
      consumer: `deliver-${policy}`,
      subject: "foreign.projects",
    });
    await expect(opened).rejects.toThrow(AuditConfigError);
    await expect(opened).rejects.toThrow(
      `nats source: consumer "deliver-${policy}" of stream "FOREIGN" has deliver policy "${policy}": it ` +
        `skipped ${skipped} stored before it was made, and their events were never ingested: delete it (a new ` +
        "consumer reads the whole stream; the store skips the events it holds), or name another consumer",
    );
  },
);

it("uses an existing consumer that starts at a stream sequence, and says what it does not read", async () => {
  const jsm = await jetstreamManager(nc());
  await jsm.consumers.add("FOREIGN", {
    durable_name: "from-seq",
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: 2,
  });

  const source = await createNatsSource({ connection: nc(), stream: "FOREIGN", consumer: "from-seq" });
  expect(source.warnings).toStrictEqual([
    'consumer "from-seq" of stream "FOREIGN" starts at stream sequence 2 (deliver policy ' +
      '"by_start_sequence"): the messages before it are not ingested, nor counted',
  ]);
  await source.close();
});
