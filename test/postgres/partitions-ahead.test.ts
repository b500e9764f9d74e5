// Months made before their events, on a real server: a writer role with only the rights
// docs/postgres.md recommends may not create a partition, so a store opened by the owning role makes
// the current month and the next, and an insert into a month makes the month after it. Without that,
// a least-privileged fleet stores nothing until someone makes the month, and at every month's change
// all its events are refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { createRecorder } from "../../src/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { sampleEvent } from "../helpers/events.js";
import {
  type PostgresServer,
  startPostgresServer,
  withClient,
  writerRoleUrl,
} from "../helpers/postgres-server.js";
import { storedIds } from "../ingest/fleet.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

const event = (id: string, ms: number) => sampleEvent({ eventId: id, occurredAt: new Date(ms) });

/** The first ms of the UTC month `offset` months after the one holding `ms`. */
function monthStart(ms: number, offset = 0): number {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1);
}

/** The partition name of the UTC month `offset` months after the one holding `ms`. */
function monthOf(ms: number, offset = 0): string {
  const month = new Date(monthStart(ms, offset));
  return `audit_events_${month.getUTCFullYear()}${String(month.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** The partitions of the events table, by name. */
async function partitionsOf(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ name: string }>(
      "SELECT c.relname name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1",
    );
    return rows.rows.map((r) => r.name);
  });
}

let writers = 0;
/** A database the owning role opened, and the URL of a writer role with exactly the docs' GRANTs. */
async function writerDatabase(): Promise<{ url: string; writerUrl: string }> {
  const url = await server.createDatabase();
  await (await openPostgresStore({ connectionString: url })).close();
  return { url, writerUrl: await writerRoleUrl(url, `ahead_writer_${++writers}`) };
}

describe("partitions made ahead of their events", () => {
  it("a store of the owning role makes this month and the next when it opens", async () => {
    const now = Date.now();
    const url = await server.createDatabase();
    await (await openPostgresStore({ connectionString: url })).close();
    expect(await partitionsOf(url)).toStrictEqual([monthOf(now), monthOf(now, 1)]);
  });

  it("a least-privileged writer's Recorder events of the current month are stored through the pipeline", async () => {
    const { url, writerUrl } = await writerDatabase();
    const writer = await openPostgresStore({ connectionString: writerUrl });
    const errors: Error[] = [];
    // A refused batch is retried until close gives up: then close reports ok: false, not a hang.
    const delivery = createDeliveryEmitter({
      sink: writer.sink(),
      onError: (error) => errors.push(error),
      closeTimeoutMs: 5000,
    });
    const recorder = createRecorder({ service: "projects", emitters: [delivery] });
    try {
      for (let i = 0; i < 12; i++) {
        recorder.recordResourceMutation({
          operation: "/x.v1.S/U",
          mutation: "update",
          resourceType: "project",
          resourceId: `p-${i}`,
        });
      }
      expect(await recorder.close()).toMatchObject({ ok: true });
      expect(delivery.stats()).toMatchObject({ emitted: 12, delivered: 12, dropped: {}, failed: 0 });
      expect(errors).toStrictEqual([]);
      expect((await storedIds(url)).size).toBe(12);
    } finally {
      await writer.close();
    }
  });

  it("an insert into a month makes the month after it, also one made at opening; not after a month over", async () => {
    const now = Date.now();
    const { url, writerUrl } = await writerDatabase();
    const owner = await openPostgresStore({ connectionString: url });
    const writer = await openPostgresStore({ connectionString: writerUrl });
    try {
      // A long-running owner's store (an ingester) at the month's change: the next month was made
      // when it opened, and its first events make the month after.
      expect(await owner.insert([event("next-month", monthStart(now, 1))])).toBe(1);
      expect(await partitionsOf(url)).toContain(monthOf(now, 2));
      // A month nobody made, and the one after it.
      const july2041 = Date.parse("2041-07-07T00:00:00Z");
      expect(await owner.insert([event("july-2041", july2041)])).toBe(1);
      expect(await writer.insert([event("august-2041", Date.parse("2041-08-31T23:59:59Z"))])).toBe(1);
      // An old month (a backlog, a broken clock): its own partition only.
      expect(await owner.insert([event("march-2020", Date.parse("2020-03-03T00:00:00Z"))])).toBe(1);
      const partitions = await partitionsOf(url);
      expect(partitions).toContain("audit_events_202003");
      expect(partitions).not.toContain("audit_events_202004");
    } finally {
      await writer.close();
      await owner.close();
    }
  });

  it("a writer that may not create the months opens all the same, and writes once the owner's store opened", async () => {
    const now = Date.now();
    const { url, writerUrl } = await writerDatabase();
    await withClient(url, (c) => c.query(`DROP TABLE ${monthOf(now)}; DROP TABLE ${monthOf(now, 1)}`));
    const writer = await openPostgresStore({ connectionString: writerUrl });
    try {
      await expect(writer.insert([event("refused", now)])).rejects.toMatchObject({
        name: "RefusedRowsError",
        code: "42501",
      });
      await (await openPostgresStore({ connectionString: url })).close();
      expect(await writer.insert([event("stored", now)])).toBe(1);
    } finally {
      await writer.close();
    }
  });

  it("a writer's insert into a month whose next it may not make is stored", async () => {
    const { url, writerUrl } = await writerDatabase();
    const writer = await openPostgresStore({ connectionString: writerUrl });
    try {
      const owner = await openPostgresStore({ connectionString: url });
      await owner.insert([event("owner", Date.parse("2041-07-01T00:00:00Z"))]);
      await owner.close();
      await withClient(url, (c) => c.query("DROP TABLE audit_events_204108"));
      expect(await writer.insert([event("writer", Date.parse("2041-07-02T00:00:00Z"))])).toBe(1);
      expect(await partitionsOf(url)).not.toContain("audit_events_204108");
    } finally {
      await writer.close();
    }
  });
});
