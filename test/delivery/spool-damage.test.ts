import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { createFakeSink, type FakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, ids, numberedEvent, numberedEvents, tempDir } from "./helpers.js";

let dir: string;
let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  ({ dir, remove: removeDir } = tempDir("damage"));
  spoolPath = path.join(dir, "spool.db");
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

/** Leaves the numbered events 1..count in a closed spool file (the -wal checkpointed and gone). */
async function leaveInSpool(count: number): Promise<void> {
  const sink = createFakeSink();
  sink.mode = "hold";
  const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath } });
  for (const event of numberedEvents(count)) emitter.emit(event);
  expect(await emitter.close({ timeoutMs: 20 })).toMatchObject({ spooled: count });
  expect(fs.existsSync(`${spoolPath}-wal`)).toBe(false);
}

/** Starts an emitter on the spool and waits until it has replayed everything it could. */
async function replay(
  delivered: number,
): Promise<{ sink: FakeSink; emitter: DeliveryEmitter; errors: Error[] }> {
  const { errors, onError } = errorCollector();
  const sink = createFakeSink();
  const emitter = createDeliveryEmitter({ sink, flushIntervalMs: 0, spool: { path: spoolPath }, onError });
  emitters.push(emitter);
  await until(() => emitter.stats().spoolEvents === 0 && emitter.stats().delivered === delivered, {
    message: () => `delivered ${emitter.stats().delivered} of ${delivered}`,
  });
  return { sink, emitter, errors };
}

/** The numbered event ids ("e-042") written in `bytes`. */
function idsIn(bytes: Buffer): Set<string> {
  return new Set(bytes.toString("latin1").match(/e-\d{3}/g) ?? []);
}

/** The one file the damaged spool was moved to. */
function movedAside(): string {
  const names = fs.readdirSync(dir).filter((name) => /^spool\.db\.corrupt-[\dTZ-]+$/.test(name));
  expect(names).toHaveLength(1);
  return path.join(dir, names[0] ?? "");
}

function damageReport(problem: string, to: string, recovered: number, loss: string): AuditEmitError {
  return new AuditEmitError(
    "fake",
    `spool ${spoolPath}: ${problem}; moved it aside to ${to} and started a new spool with the ${recovered} rows that could be read; ${loss}`,
  );
}

describe("a damaged spool file", () => {
  it("with a page of garbage: replays every row on the other pages and counts the rows of that page as lost", async () => {
    await leaveInSpool(100);
    const file = fs.readFileSync(spoolPath);
    const pageSize = file.readUInt16BE(16);
    const page = Math.floor(file.indexOf("e-050") / pageSize);
    const lostIds = idsIn(file.subarray(page * pageSize, (page + 1) * pageSize));
    expect(lostIds.size).toBeGreaterThan(1);
    file.fill(0xab, page * pageSize, (page + 1) * pageSize);
    fs.writeFileSync(spoolPath, file);
    const lost = lostIds.size;

    const { sink, emitter, errors } = await replay(100 - lost);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 100).filter((eventId) => !lostIds.has(eventId)));
    expect(emitter.stats()).toMatchObject({
      dropped: { spool_damaged: lost },
      droppedByKind: { unspecified: lost },
      spoolRecovery: { movedAside: 1, recovered: 100 - lost, lost, uncounted: 0 },
    });
    const to = movedAside();
    expect(errors).toStrictEqual([
      damageReport(
        "the file is damaged (database disk image is malformed)",
        to,
        100 - lost,
        `${lost} rows could not be read and are lost`,
      ),
    ]);
    expect(fs.readFileSync(to).equals(file)).toBe(true);
  });

  it("cut short: replays the rows on the pages left and counts the rows that were cut off", async () => {
    await leaveInSpool(100);
    const file = fs.readFileSync(spoolPath);
    const pageSize = file.readUInt16BE(16);
    const keep = file.length - 3 * pageSize;
    const kept = file.subarray(0, keep);
    const keptIds = idsIn(kept);
    const lost = 100 - keptIds.size;
    expect(lost).toBeGreaterThan(1);
    fs.writeFileSync(spoolPath, kept);

    const { sink, emitter, errors } = await replay(100 - lost);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 100 - lost));
    expect([...keptIds].sort()).toStrictEqual(ids(1, 100 - lost));
    expect(emitter.stats()).toMatchObject({
      dropped: { spool_damaged: lost },
      spoolRecovery: { movedAside: 1, recovered: 100 - lost, lost, uncounted: 0 },
    });
    const to = movedAside();
    expect(errors).toStrictEqual([
      damageReport(
        "the file is damaged (database disk image is malformed)",
        to,
        100 - lost,
        `${lost} rows could not be read and are lost`,
      ),
    ]);
    expect(fs.readFileSync(to).equals(kept)).toBe(true);
  });

  it("with a -wal of garbage: keeps it aside, replays every row of the file and reports a loss it cannot count", async () => {
    await leaveInSpool(20);
    const garbage = Buffer.alloc(5000, 0x5a);
    fs.writeFileSync(`${spoolPath}-wal`, garbage);

    const { sink, emitter, errors } = await replay(20);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 20));
    expect(emitter.stats()).toMatchObject({
      dropped: {},
      spoolRecovery: { movedAside: 1, recovered: 20, lost: 0, uncounted: 1 },
    });
    const to = movedAside();
    expect(errors).toStrictEqual([
      damageReport(
        "its -wal file (5000 bytes) is not a SQLite write-ahead log",
        to,
        20,
        "an unknown number of rows may be lost (they cannot be counted)",
      ),
    ]);
    expect(fs.readFileSync(`${to}-wal`).equals(garbage)).toBe(true);
  });

  it("left by a crash (its -wal and -shm still there) with a bad page: also replays the rows of the -wal", async () => {
    // A spool as a killed process leaves it: rows 1-100 checkpointed into the file, 101-120 only in
    // the -wal. Copies of the three files are taken while the writer still has them open.
    const live = path.join(dir, "live.db");
    const db = new Database(live);
    db.pragma("journal_mode = WAL");
    db.pragma("wal_autocheckpoint = 0");
    db.exec(
      "CREATE TABLE spool (id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, event_type TEXT NOT NULL, bytes BLOB NOT NULL, size INTEGER NOT NULL)",
    );
    db.exec("CREATE TABLE spool_tally (rows INTEGER NOT NULL); INSERT INTO spool_tally VALUES (0)");
    db.pragma("user_version = 2");
    const insert = db.prepare("INSERT INTO spool VALUES (?, ?, 'authz.decision', ?, ?)");
    const add = db.transaction((from: number, to: number) => {
      for (let n = from; n <= to; n++) {
        const bytes = Buffer.from(encodeEvent(numberedEvent(n)));
        insert.run(n, numberedEvent(n).eventId, bytes, bytes.length);
      }
      db.prepare("UPDATE spool_tally SET rows = rows + ?").run(to - from + 1);
    });
    add(1, 100);
    db.pragma("wal_checkpoint(TRUNCATE)");
    add(101, 120);
    for (const suffix of ["", "-wal", "-shm"]) fs.copyFileSync(live + suffix, spoolPath + suffix);
    db.close();
    const file = fs.readFileSync(spoolPath);
    const pageSize = file.readUInt16BE(16);
    const page = Math.floor(file.indexOf("e-050") / pageSize);
    const lostIds = idsIn(file.subarray(page * pageSize, (page + 1) * pageSize));
    file.fill(0xab, page * pageSize, (page + 1) * pageSize);
    fs.writeFileSync(spoolPath, file);
    const lost = lostIds.size;

    const { sink, emitter, errors } = await replay(120 - lost);

    expect(sink.receivedIds()).toStrictEqual(ids(1, 120).filter((eventId) => !lostIds.has(eventId)));
    expect(emitter.stats().spoolRecovery).toStrictEqual({
      movedAside: 1,
      recovered: 120 - lost,
      lost,
      uncounted: 0,
    });
    expect(errors).toStrictEqual([
      damageReport(
        "the file is damaged (database disk image is malformed)",
        movedAside(),
        120 - lost,
        `${lost} rows could not be read and are lost`,
      ),
    ]);
  });

  it("replays new events after the salvaged ones, in order", async () => {
    await leaveInSpool(30);
    const file = fs.readFileSync(spoolPath);
    const kept = file.subarray(0, file.length - file.readUInt16BE(16));
    const saved = idsIn(kept).size;
    fs.writeFileSync(spoolPath, kept);
    const { sink, emitter } = await replay(saved);

    for (const event of numberedEvents(3, "authz", "n")) emitter.emit(event);
    await until(() => emitter.stats().delivered === saved + 3);

    expect(sink.receivedIds()).toStrictEqual([...ids(1, saved), ...ids(1, 3, "n")]);
  });
});

describe("a spooled row that is not a valid event", () => {
  it("is counted as spool_corrupt and not delivered: bytes of another event, or no bytes", async () => {
    await leaveInSpool(4);
    const db = new Database(spoolPath);
    db.prepare("UPDATE spool SET bytes = ? WHERE id = 2").run(Buffer.from(encodeEvent(numberedEvent(99))));
    db.prepare("UPDATE spool SET bytes = ? WHERE id = 3").run(Buffer.alloc(0));
    db.close();

    const { sink, emitter } = await replay(2);

    expect(sink.receivedIds()).toStrictEqual(["e-001", "e-004"]);
    expect(emitter.stats()).toMatchObject({
      dropped: { spool_corrupt: 2 },
      droppedByKind: { "authz.decision": 2 },
    });
  });
});
