// The store's file deleted, moved away or replaced while a writer has it open. SQLite keeps writing
// into the file it opened (in WAL mode without an error), so without a check every later event would
// be reported stored and vanish with the process, and the log left at the path would be read as the
// log of the file put there next. Each write compares the path's file with the one opened.
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { appendEvent, createEventColumns } from "../../src/event/event-columns.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { errorCollector, ids, numberedEvents, tempDir } from "../delivery/helpers.js";
import { until } from "../helpers/fake-sink.js";
import { storedIds } from "./stored-ids.js";

let dir: ReturnType<typeof tempDir>;
let file: string;
const open: AuditStore[] = [];

beforeEach(() => {
  dir = tempDir("removed-file");
  file = path.join(dir.dir, "audit.db");
});

/** Closes the stores this test opened. */
function closeAll(): void {
  for (const opened of open.splice(0)) opened.close();
}

afterEach(() => {
  closeAll();
  dir.remove();
});

/** A store at `at`; background checkpoints off, so every event stays in the log until close. */
function store(at = file, readonly = false): AuditStore {
  const opened = openAuditStore({ path: at, readonly, backgroundCheckpoints: false });
  open.push(opened);
  return opened;
}

/** What `write` throws, as name and message. */
function thrown(write: () => unknown): { name: string; message: string } {
  try {
    write();
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error("the write did not throw");
}

const removed = (lost: string, which = "the file", at = file) => ({
  name: "AuditEmitError",
  message: `audit store ${at}: ${which} was removed or replaced while this store had it open: ${lost}; restore the file or restart the writer`,
});

describe("a store file deleted while a writer has it open", () => {
  it("fails the next insert and prune with an AuditEmitError naming the file", () => {
    const writer = store();
    writer.insert(numberedEvents(3));
    fs.rmSync(file);

    expect(thrown(() => writer.insert(numberedEvents(2, "authz", "n")))).toStrictEqual(
      removed("the events of this batch were not stored"),
    );
    const columns = createEventColumns(); // as an ingester writes a broker's batch
    for (const event of numberedEvents(2, "authz", "i")) appendEvent(columns, event, encodeEvent(event));
    expect(thrown(() => writer.insertColumns(columns))).toStrictEqual(
      removed("the events of this batch were not stored"),
    );
    expect(thrown(() => writer.prune({ before: new Date(8.64e15) }))).toStrictEqual(
      removed("nothing was pruned"),
    );
    expect(fs.existsSync(file)).toBe(false); // never recreated behind the operator's back
  });

  it("fails a write during which it was deleted, although that write committed", () => {
    const writer = store();
    const [first, second] = numberedEvents(2);
    // Read while the batch's transaction runs, after the check before it.
    const deleting = Object.defineProperty({ ...second }, "traceId", {
      enumerable: true,
      get: () => {
        fs.rmSync(file, { force: true });
        return "";
      },
    });

    expect(thrown(() => writer.insert([first, deleting] as (typeof second)[]))).toStrictEqual(
      removed("the events of this batch were not stored"),
    );
  });

  it("through the delivery pipeline: the events are not delivered but spooled, and a restarted writer stores them", async () => {
    const writer = store();
    const spoolPath = path.join(dir.dir, "spool.db");
    const { errors, onError } = errorCollector();
    const options = {
      spool: { path: spoolPath, spoolAfterAttempts: 1 },
      retry: { initialDelayMs: 1, maxDelayMs: 5 },
      flushIntervalMs: 1,
      onError,
    };
    const emitter = createDeliveryEmitter({ sink: writer.sink(), ...options });
    for (const event of numberedEvents(3)) emitter.emit(event);
    expect(await emitter.flush()).toMatchObject({ ok: true });
    fs.rmSync(file);

    for (const event of numberedEvents(4, "authz", "n")) emitter.emit(event);
    await until(() => emitter.stats().spooled === 4);
    const report = await emitter.close({ timeoutMs: 30 });

    expect(report).toMatchObject({ ok: false, pending: 4, dropped: 0 });
    expect(emitter.stats()).toMatchObject({ delivered: 3, spooled: 4, dropped: {} });
    const failure = errors.find(
      (e) => e instanceof AuditEmitError && e.message.includes("sink write failed"),
    );
    expect((failure?.cause as Error | undefined)?.message).toBe(
      removed("the events of this batch were not stored").message,
    );

    // Restarted: a new store at the path, and a new emitter that replays the spool into it.
    closeAll();
    const restarted = store();
    const next = createDeliveryEmitter({ sink: restarted.sink(), ...options });
    expect(await next.flush()).toMatchObject({ ok: true });
    await next.close();
    expect(storedIds(file)).toStrictEqual(ids(1, 4, "n"));
  });
});

describe("a store file moved away while a writer has it open", () => {
  it("fails inserts while it is away; the moved file holds what was stored; moved back, inserts go on", () => {
    const writer = store();
    writer.insert(numberedEvents(3));
    const away = path.join(dir.dir, "moved.db");
    fs.renameSync(file, away);

    expect(thrown(() => writer.insert(numberedEvents(2, "authz", "n")))).toStrictEqual(
      removed("the events of this batch were not stored"),
    );
    // Its log, left at the old path, was moved into it: the moved file is a whole store.
    expect(storedIds(away)).toStrictEqual(ids(1, 3));

    fs.renameSync(away, file);
    expect(writer.insert(numberedEvents(2, "authz", "n"))).toBe(2);
    closeAll();
    expect(storedIds(file)).toStrictEqual([...ids(1, 3), ...ids(1, 2, "n")]);
  });
});

describe("a store file replaced by another store while a writer has it open", () => {
  it("fails the next insert, and the file at the path reads as itself, not through the writer's log", () => {
    const other = path.join(dir.dir, "other.db");
    const backup = store(other);
    backup.insert(numberedEvents(2, "authz", "o"));
    closeAll();
    const writer = store();
    writer.insert(numberedEvents(3));
    fs.renameSync(other, file);

    expect(thrown(() => writer.insert(numberedEvents(2, "authz", "n")))).toStrictEqual(
      removed("the events of this batch were not stored"),
    );
    expect(storedIds(file)).toStrictEqual(ids(1, 2, "o"));
    closeAll();
    expect(storedIds(file)).toStrictEqual(ids(1, 2, "o"));
  });
});

describe("a store's write-ahead log deleted while a writer has it open", () => {
  it("fails the next insert, and what was committed before is in the file even if the writer never closes", () => {
    const writer = store();
    writer.insert(numberedEvents(3));
    fs.rmSync(`${file}-wal`);

    expect(thrown(() => writer.insert(numberedEvents(2, "authz", "n")))).toStrictEqual(
      removed("the events of this batch were not stored", `its write-ahead log ${fs.realpathSync(file)}-wal`),
    );
    // Read while the writer is still open, as after a crash: the log it writes to has no name.
    expect(storedIds(file)).toStrictEqual(ids(1, 3));
  });
});

describe("a store's folder moved away and the path no longer leading to a file", () => {
  const cases: [string, (folder: string) => void][] = [
    ["a file put at the folder's name (ENOTDIR)", (folder) => fs.writeFileSync(folder, "not a folder")],
    ["a symlink loop at the folder's name (ELOOP)", (folder) => fs.symlinkSync(folder, folder)],
  ];
  /** A store in folder `sub`, three events stored, then the folder moved away and `block` done at its name. */
  function blocked(block: (folder: string) => void): { writer: AuditStore; at: string; moved: string } {
    const folder = path.join(dir.dir, "sub");
    fs.mkdirSync(folder);
    const at = path.join(folder, "audit.db");
    const writer = store(at);
    writer.insert(numberedEvents(3));
    fs.renameSync(folder, path.join(dir.dir, "sub-moved"));
    block(folder);
    return { writer, at, moved: path.join(dir.dir, "sub-moved", "audit.db") };
  }

  /** Closes `writer` here rather than after the test. */
  function closeNow(writer: AuditStore): void {
    open.splice(open.indexOf(writer), 1);
    writer.close();
  }

  it.each(cases)("%s: insert fails naming the store", (_, block) => {
    const { writer, at, moved } = blocked(block);

    expect(thrown(() => writer.insert(numberedEvents(2, "authz", "n")))).toStrictEqual(
      removed("the events of this batch were not stored", "the file", at),
    );
    closeNow(writer);
    expect(storedIds(moved)).toStrictEqual(ids(1, 3));
  });

  it.each(cases)("%s: close() closes the database", (_, block) => {
    const { writer, moved } = blocked(block);

    closeNow(writer);
    expect(thrown(() => writer.insert(numberedEvents(1, "authz", "c"))).message).toMatch(/not open/);
    expect(storedIds(moved)).toStrictEqual(ids(1, 3));
  });
});

describe("a store opened through symlinks", () => {
  it("through `link/../`, where SQLite goes up from the link's target: a file at the lexical path is not the store", () => {
    const real = path.join(dir.dir, "real");
    fs.mkdirSync(path.join(real, "sub"), { recursive: true });
    fs.symlinkSync(path.join(real, "sub"), path.join(dir.dir, "sublink"));
    const decoy = path.join(dir.dir, "c.db");
    fs.writeFileSync(decoy, "another file");
    const writer = store(`${dir.dir}/sublink/../c.db`);
    writer.insert(numberedEvents(2));
    fs.rmSync(decoy);

    expect(writer.insert(numberedEvents(2, "authz", "n"))).toBe(2);
    closeAll();
    expect(storedIds(path.join(real, "c.db"))).toStrictEqual([...ids(1, 2), ...ids(1, 2, "n")]);
  });

  it("through a symlink to the file: the log SQLite keeps beside the target is watched", () => {
    const target = path.join(dir.dir, "target.db");
    store(target);
    closeAll();
    const link = path.join(dir.dir, "link.db");
    fs.symlinkSync(target, link);
    const writer = store(link);
    writer.insert(numberedEvents(3));
    fs.rmSync(`${target}-wal`);

    expect(thrown(() => writer.insert(numberedEvents(2, "authz", "n")))).toStrictEqual(
      removed(
        "the events of this batch were not stored",
        `its write-ahead log ${fs.realpathSync(target)}-wal`,
        link,
      ),
    );
    expect(storedIds(target)).toStrictEqual(ids(1, 3));
  });

  it("through a symlink to the file: the link pointed at another file is a replaced file", () => {
    const target = path.join(dir.dir, "target.db");
    const other = path.join(dir.dir, "other.db");
    store(other).insert(numberedEvents(2, "authz", "o"));
    closeAll();
    const link = path.join(dir.dir, "link.db");
    fs.symlinkSync(target, link);
    const writer = store(link);
    writer.insert(numberedEvents(3));
    fs.rmSync(link);
    fs.symlinkSync(other, link);

    expect(thrown(() => writer.insert(numberedEvents(2, "authz", "n")))).toStrictEqual(
      removed("the events of this batch were not stored", "the file", link),
    );
  });
});
