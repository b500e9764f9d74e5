/** A spool file deleted under a running emitter: its rows move to a new file at the path. */
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter, type DeliveryEmitter } from "../../src/delivery/index.js";
import { createFakeSink, type FakeSink, until } from "../helpers/fake-sink.js";
import { errorCollector, ids, numberedEvents, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  const temp = tempDir("spool-deleted");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

/** A write-ahead emitter whose sink holds every write: each accepted event is committed to the spool. */
function create(sink: FakeSink, onError: (error: Error) => void): DeliveryEmitter {
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    onError,
    spool: { path: spoolPath, commitIntervalMs: 5, writeAhead: true },
  });
  emitters.push(emitter);
  return emitter;
}

/** The event ids in a spool file, read straight from SQLite. */
function spoolIds(): string[] {
  const db = new Database(spoolPath, { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    const tally = db.prepare("SELECT rows FROM spool_tally").pluck().get();
    const rows = db.prepare("SELECT event_id FROM spool ORDER BY id").pluck().all() as string[];
    expect(tally).toBe(rows.length);
    return rows;
  } finally {
    db.close();
  }
}

describe("a spool file deleted while the emitter runs", () => {
  for (const [files, suffixes, left] of [
    // SQLite keeps the -wal of a file deleted under it: on the new file it would overwrite its pages.
    [
      "the database file",
      [""],
      String.raw`moved the -wal and -shm it left aside to \S+\.deleted-[0-9TZ-]+-wal and -shm, `,
    ],
    ["the database file, its -wal and -shm", ["", "-wal", "-shm"], ""],
  ] as const) {
    it(`copies the rows to a new file at the path and reports it (${files} deleted)`, async () => {
      const sink = createFakeSink();
      sink.mode = "hold";
      const { errors, onError } = errorCollector();
      const emitter = create(sink, onError);
      for (const event of numberedEvents(20)) emitter.emit(event);
      await until(() => emitter.stats().spooled === 20);
      for (const suffix of suffixes) fs.rmSync(spoolPath + suffix);
      for (const event of numberedEvents(30).slice(20)) emitter.emit(event);

      await until(() => errors.length > 0);
      // 20 or 30 rows: the last 10 may be committed to the deleted file before the check, or after it.
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toMatch(
        new RegExp(
          `^fake: spool ${spoolPath}: the file was deleted while in use: ${left}started a new file at the path with its [23]0 rows$`,
        ),
      );
      const report = await emitter.close({ timeoutMs: 50 });
      expect(report).toMatchObject({ ok: false, pending: 30, dropped: 0 });
      expect(emitter.stats().droppedAfterAccept).toBe(0);
      // What a new process finds at the path: every accepted event.
      expect(spoolIds()).toStrictEqual(ids(1, 30));
      expect((fs.statSync(spoolPath).mode & 0o777).toString(8)).toBe("600");
    });
  }

  it("moves a file put in its place aside, and copies the rows to a new file at the path", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    const emitter = create(sink, onError);
    for (const event of numberedEvents(5)) emitter.emit(event);
    await until(() => emitter.stats().spooled === 5);
    fs.rmSync(spoolPath);
    fs.writeFileSync(spoolPath, "another program's file");

    const report = await emitter.close({ timeoutMs: 50 });

    expect(report).toMatchObject({ ok: false, pending: 5, dropped: 0 });
    expect(errors).toHaveLength(1);
    // The file found there, with the -wal and -shm the deleted file left.
    const aside = fs
      .readdirSync(path.dirname(spoolPath))
      .filter((name) => name.includes(".corrupt-") && !/-(wal|shm)$/.test(name));
    expect(aside).toHaveLength(1);
    const asidePath = path.join(path.dirname(spoolPath), aside[0] ?? "");
    expect(errors[0]?.message).toBe(
      `fake: spool ${spoolPath}: the file was replaced by another file while in use: moved the file ` +
        `found there aside to ${asidePath}, started a new file at the path with its 5 rows`,
    );
    expect(fs.readFileSync(asidePath, "utf8")).toBe("another program's file");
    expect(spoolIds()).toStrictEqual(ids(1, 5));
  });

  it("is noticed by close() before the next check", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const { errors, onError } = errorCollector();
    const emitter = create(sink, onError);
    for (const event of numberedEvents(5)) emitter.emit(event);
    await until(() => emitter.stats().spooled === 5);
    fs.rmSync(spoolPath);
    const report = await emitter.close({ timeoutMs: 50 });
    expect(report).toMatchObject({ ok: false, pending: 5, dropped: 0 });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(
      new RegExp(
        `^fake: spool ${spoolPath}: the file was deleted while in use: moved the -wal and -shm it left aside ` +
          String.raw`to \S+\.deleted-[0-9TZ-]+-wal and -shm, started a new file at the path with its 5 rows$`,
      ),
    );
    expect(spoolIds()).toStrictEqual(ids(1, 5));
  });
});
