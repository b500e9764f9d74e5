// createKafkaSource with createIngester, on the fake Kafka cluster, into a real SQLite store file: a
// commit that fails (of a stored batch, or of a message sent to the dead letters) is made again at the
// next fetch once commits work, with no new message needed; a dead letter sent whose commit failed is
// counted as dead-lettered, reported by partition and offset, and not sent again. After a rebalance a
// failed commit is dropped: another member may have committed further since.
import { afterEach, describe, expect, it } from "vitest";
import { createIngester } from "../../src/ingest/index.js";
import { seedEvents } from "../cli/helpers.js";
import { until } from "../ingest/fleet.js";
import { fakeIngestSetup, publishToFake } from "./fake-ingest.js";
import { fetchAll } from "./fetch-all.js";

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

describe("createKafkaSource when a commit fails", () => {
  it("counts a dead letter sent whose commit failed, names its partition and offset, and commits it once commits work", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 1);
    kafka.append(0, "not an event");
    kafka.failCommits = new Error("the coordinator went away");
    const errors: string[] = [];
    const ingester = createIngester({
      source: await source(),
      store,
      maxWaitMs: 20,
      onError: (error) => errors.push(`${error.name}: ${error.message}`),
    });
    await until(() => ingester.stats().errors === 1, "the commit failed");
    expect(kafka.commits).toStrictEqual([]);
    kafka.failCommits = undefined;
    await until(() => kafka.committed()[0] === 1, "the dead letter's offset committed");
    await ingester.stop();
    expect(errors).toStrictEqual([
      'DeadLetterNotAckedError: commit of a dead letter failed (topic "audit-events", partition 0, ' +
        'offset 0; sent to "audit-events.dead-letter", committed with the next commit): the coordinator went away',
    ]);
    const { received, inserted, duplicates, deadLettered } = ingester.stats();
    expect({ received, inserted, duplicates, deadLettered }).toStrictEqual({
      received: 1,
      inserted: 0,
      duplicates: 0,
      deadLettered: 1,
    });
    expect(kafka.commits).toStrictEqual([{ partition: 0, offset: 1 }]);

    // The next member starts past it: it is not dead-lettered a second time.
    const next = createIngester({ source: await source(), store, maxWaitMs: 20 });
    await until(() => next.stats().lag === 0, "a fetch of the next member");
    await next.stop();
    expect(next.stats()).toMatchObject({ received: 0, deadLettered: 0, errors: 0 });
    expect(kafka.produced).toHaveLength(1);
  });

  it("commits a stored batch whose commit failed at a later fetch, with no new message", async () => {
    const { kafka, store, source } = fakeIngestSetup(open, 1);
    await publishToFake(kafka, seedEvents(3), { encoding: "protobuf" });
    kafka.failCommits = new Error("the coordinator went away");
    const ingester = createIngester({ source: await source(), store, maxWaitMs: 20, onError: () => {} });
    await until(() => ingester.stats().errors === 1, "the commit failed");
    kafka.failCommits = undefined;
    await until(() => kafka.committed()[0] === 3, "the offsets committed");
    await ingester.stop();
    expect(ingester.stats()).toMatchObject({ received: 3, inserted: 3, errors: 1 });
    expect(kafka.commits).toStrictEqual([{ partition: 0, offset: 3 }]);
  });

  it("drops a failed commit once the group rebalanced: it would move back an offset another member committed since", async () => {
    const { kafka, source } = fakeIngestSetup(open, 1);
    await publishToFake(kafka, seedEvents(5));
    const s = await source();
    const signal = new AbortController().signal;
    const first = await fetchAll(s, 3, signal);
    expect(first.map((m) => m.where)).toStrictEqual([
      "audit-events/0@0",
      "audit-events/0@1",
      "audit-events/0@2",
    ]);
    kafka.failCommits = new Error("the coordinator went away");
    await expect(s.ack(first)).rejects.toThrow(
      /^commit on topic "audit-events" failed: the coordinator went away$/,
    );
    kafka.failCommits = undefined;

    // Out of the group meanwhile: another member stored all five and committed 5; then a new generation.
    kafka.commitOffset(0, 5);
    kafka.rebalance();
    await s.fetch(10, 50, signal);
    expect(kafka.commits).toStrictEqual([]);
    expect(kafka.committed()).toStrictEqual([5]);
  });
});
