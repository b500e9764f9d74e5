// `grpc-audit ingest` into a SQLite file another process holds a write lock on: each failed insert is
// reported naming the store, as every command names it ("audit store <path>: the database is locked
// by another process", not SQLite's bare "database is locked"), and the events are stored once the
// lock is released: nothing is acknowledged before.
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { tempDir } from "../cli/helpers.js";
import { storedIds } from "../store/stored-ids.js";
import { freshStream, publishTrail, startIngest, until, useIngestNats } from "./fleet.js";

const suite = useIngestNats();

describe("grpc-audit ingest into a SQLite store locked by another process", () => {
  it("names the store in each failed insert, and stores every event once the lock is gone", async () => {
    const { stream, topic } = await freshStream(suite.nc);
    const db = join(tempDir(), "audit.db");
    openAuditStore({ path: db }).close();
    const locker = new Database(db);
    const run = startIngest(suite.nats.url, stream, db);
    try {
      await until(() => run.out.stderr.includes("(Ctrl-C to stop)"), "ingest started");
      locker.exec("BEGIN EXCLUSIVE");
      const published = await publishTrail(suite.nats.url, topic, 3);
      await until(
        () => run.out.stderr.includes("ingest: error: "),
        "an insert failing on the lock (after the store's 5 s busy timeout)",
      );
      expect(run.out.stderr).toContain(
        `ingest: error: audit store ${db}: the database is locked by another process\n`,
      );
      expect(storedIds(db)).toStrictEqual([]);
      locker.exec("COMMIT");
      await until(() => storedIds(db).length === published.length, "every event stored");
      expect(storedIds(db).sort()).toStrictEqual(published.map((e) => e.eventId).sort());
      run.child.kill("SIGTERM");
      expect(await run.exited).toStrictEqual({ code: 0, signal: null });
    } finally {
      locker.close();
      run.child.kill("SIGKILL");
    }
  });
});
