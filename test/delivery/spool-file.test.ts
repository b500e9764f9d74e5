import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createDeliveryEmitter,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
} from "../../src/delivery/index.js";
import { SPOOL_SCHEMA_VERSION } from "../../src/delivery/spool-schema.js";
import { AuditConfigError, AuditEmitError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { createFakeSink, type FakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, ids, numberedEvents, tempDir } from "./helpers.js";

let dir: string;
let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  ({ dir, remove: removeDir } = tempDir("spool-file"));
  spoolPath = path.join(dir, "spool.db");
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

function create(sink: FakeSink, options: Partial<DeliveryEmitterOptions> = {}): DeliveryEmitter {
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    sleep: () => new Promise((resolve) => setTimeout(resolve, 1)),
    ...options,
    spool: { path: spoolPath, commitIntervalMs: 5, ...options.spool },
  });
  emitters.push(emitter);
  return emitter;
}

/** The rows of a spool file, read straight from SQLite. */
function spoolRows(file = spoolPath): { id: number; event_id: string; event_type: string; size: number }[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT id, event_id, event_type, size FROM spool ORDER BY id").all() as {
      id: number;
      event_id: string;
      event_type: string;
      size: number;
    }[];
  } finally {
    db.close();
  }
}

describe("the spool file", () => {
  it("is a WAL-mode SQLite file with its schema version in user_version", async () => {
    const emitter = create(createFakeSink());
    await emitter.flush();

    const db = new Database(spoolPath, { readonly: true });
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("user_version", { simple: true })).toBe(SPOOL_SCHEMA_VERSION);
      expect(db.prepare("SELECT name, type FROM pragma_table_info('spool')").all()).toStrictEqual([
        { name: "id", type: "INTEGER" },
        { name: "event_id", type: "TEXT" },
        { name: "event_type", type: "TEXT" },
        { name: "bytes", type: "BLOB" },
        { name: "size", type: "INTEGER" },
      ]);
      expect(db.prepare("SELECT rows FROM spool_tally").all()).toStrictEqual([{ rows: 0 }]);
    } finally {
      db.close();
    }
  });

  it("upgrades a version 1 spool in place, keeping and replaying its rows", async () => {
    const db = new Database(spoolPath);
    db.exec(
      "CREATE TABLE spool (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, event_type TEXT NOT NULL, bytes BLOB NOT NULL, size INTEGER NOT NULL)",
    );
    const insert = db.prepare("INSERT INTO spool VALUES (?, ?, 'authz.decision', ?, ?)");
    for (const [i, event] of numberedEvents(3).entries()) {
      const bytes = Buffer.from(encodeEvent(event));
      insert.run(i + 1, event.eventId, bytes, bytes.length);
    }
    db.pragma("user_version = 1");
    db.close();
    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    create(sink, { onError });

    await until(() => sink.held.length === 1);
    const upgraded = new Database(spoolPath, { readonly: true });
    expect(upgraded.pragma("user_version", { simple: true })).toBe(2);
    expect(upgraded.prepare("SELECT rows FROM spool_tally").all()).toStrictEqual([{ rows: 3 }]);
    upgraded.close();
    sink.mode = "ack";
    sink.ackHeld();
    await until(() => sink.receivedIds().length === 3);
    expect(sink.receivedIds()).toStrictEqual(ids(1, 3));
    expect(errors).toStrictEqual([]);
  });

  it("creates the folders of its path", async () => {
    spoolPath = path.join(dir, "a", "b", "spool.db");
    create(createFakeSink());
    expect(fs.existsSync(spoolPath)).toBe(true);
  });

  it("throws an AuditConfigError naming the path when the file cannot be opened", () => {
    fs.mkdirSync(spoolPath);
    expect(() => create(createFakeSink())).toThrow(AuditConfigError);
    expect(() => create(createFakeSink())).toThrow(`delivery emitter: cannot open spool.path ${spoolPath}:`);
  });
});

describe("a spool file that is not usable", () => {
  function corruptFiles(): string[] {
    return fs.readdirSync(dir).filter((name) => name.startsWith("spool.db.corrupt-"));
  }

  async function expectMovedAside(problem: string, original: Buffer): Promise<void> {
    const { errors, onError } = errorCollector();
    const sink = createFakeSink();
    const emitter = create(sink, { onError });

    const [moved, ...more] = corruptFiles();
    expect(more).toStrictEqual([]);
    expect(moved).toMatch(/^spool\.db\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    expect(fs.readFileSync(path.join(dir, moved ?? "")).equals(original)).toBe(true);
    expect(errors).toStrictEqual([
      new AuditEmitError(
        "fake",
        `spool ${spoolPath}: ${problem}; moved it aside to ${path.join(dir, moved ?? "")} and started an empty spool`,
      ),
    ]);
    expect(emitter.stats().spoolRecovery).toStrictEqual({
      movedAside: 1,
      recovered: 0,
      lost: 0,
      uncounted: 0,
    });
    // The new spool works.
    for (const event of numberedEvents(2)) emitter.emit(event);
    await until(() => emitter.stats().delivered === 2);
    expect(spoolRows()).toStrictEqual([]);
  }

  it("moves aside a file that is not a SQLite database and starts a fresh spool", async () => {
    fs.writeFileSync(spoolPath, "this is not a database, just some text that is long enough ".repeat(20));
    const original = fs.readFileSync(spoolPath);

    await expectMovedAside("the file is not a SQLite database (file is not a database)", original);
  });

  it("moves aside a SQLite database of another program", async () => {
    const db = new Database(spoolPath);
    db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)");
    db.close();
    const original = fs.readFileSync(spoolPath);

    await expectMovedAside(
      "the file is not a grpc-audit spool (schema version 0 with tables [accounts], expected version 2)",
      original,
    );
  });

  it("moves aside a spool with a schema version this library does not know", async () => {
    const db = new Database(spoolPath);
    db.pragma("user_version = 99");
    db.exec("CREATE TABLE spool (id INTEGER PRIMARY KEY)");
    db.close();
    const original = fs.readFileSync(spoolPath);

    await expectMovedAside(
      "the file is not a grpc-audit spool (schema version 99 with tables [spool], expected version 2)",
      original,
    );
  });

  it("moves aside a spool whose table has other columns", async () => {
    const db = new Database(spoolPath);
    db.pragma("user_version = 1");
    db.exec("CREATE TABLE spool (id INTEGER PRIMARY KEY, payload BLOB)");
    db.close();
    const original = fs.readFileSync(spoolPath);

    await expectMovedAside(
      "the file is not a grpc-audit spool (table spool has columns [id, payload], expected [id, event_id, event_type, bytes, size])",
      original,
    );
  });

  describe("written by a newer grpc-audit (a higher schema version, the known columns)", () => {
    /** Leaves 5 undelivered rows in the spool, as a newer version with schema 3 would. */
    async function leaveNewerSpool(): Promise<void> {
      const sink = createFakeSink();
      sink.mode = "hold";
      const first = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath } });
      for (const event of numberedEvents(5)) first.emit(event);
      expect(await first.close({ timeoutMs: 20 })).toMatchObject({ spooled: 5 });
      const db = new Database(spoolPath);
      db.pragma("user_version = 3");
      db.close();
    }

    async function expectCounted(): Promise<void> {
      const original = fs.readFileSync(spoolPath);
      const { errors, onError } = errorCollector();
      const sink = createFakeSink();
      const emitter = create(sink, { onError });

      const [moved, ...more] = corruptFiles();
      expect(more).toStrictEqual([]);
      const to = path.join(dir, moved ?? "");
      expect(fs.readFileSync(to).equals(original)).toBe(true);
      expect(spoolRows(to).map((row) => row.event_id)).toStrictEqual(ids(1, 5));
      expect(errors.map((error) => error.message)).toStrictEqual([
        `fake: spool ${spoolPath}: the file was written by a newer grpc-audit (schema version 3; this version reads 2) ` +
          "and holds 5 undelivered events, counted as lost here: a newer grpc-audit delivers them from the file " +
          `moved aside; moved it aside to ${to} and started an empty spool`,
      ]);
      expect(emitter.stats()).toMatchObject({
        spoolRecovery: { movedAside: 1, recovered: 0, lost: 5, uncounted: 0 },
        dropped: { spool_damaged: 5 },
        droppedAfterAccept: 5,
      });
      // The new spool works, and nothing of the newer file was sent.
      for (const event of numberedEvents(2, "authz", "n")) emitter.emit(event);
      await until(() => emitter.stats().delivered === 2);
      expect(sink.receivedIds()).toStrictEqual(ids(1, 2, "n"));
    }

    it("is moved aside, its undelivered rows (its tally) counted as lost", async () => {
      await leaveNewerSpool();
      await expectCounted();
    });

    it("without a tally: its rows are counted", async () => {
      await leaveNewerSpool();
      const db = new Database(spoolPath);
      db.exec("DROP TABLE spool_tally");
      db.close();
      await expectCounted();
    });
  });
});
