/**
 * Write-ahead mode with `maxUncommittedEvents: 1` promises that emit commits each event to the spool
 * before the call is answered, so a `kill -9` loses no answered call. When the spool was at its
 * maxBytes, or SQLite refused the commit (a full disk, a read-only file), emit used to accept the
 * event anyway and keep it in memory: a fail-closed call was answered OK, and a `kill -9` then lost
 * its event with no count anywhere (review R148 F1). Now such an event is refused at emit, counted
 * ("spool_full", or "spool_error" for a commit refused for another reason than a full disk), and held
 * nowhere, so it is never delivered later either.
 *
 * Real SQLite spool files. A full disk and a read-only file are made for real on the spool's own
 * connection (through the pipeline's test seam `spoolOpened`): `PRAGMA max_page_count` keeps the file
 * from growing (SQLite answers SQLITE_FULL, "database or disk is full"), `PRAGMA query_only` refuses
 * every write (SQLITE_READONLY). The pipeline's clock (performance.now) is held, so the pause after a
 * failed commit ends exactly when the test moves the clock on.
 */
import path from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import type { DeliveryEmitterOptions } from "../../src/delivery/index.js";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { DeliveryPipeline } from "../../src/delivery/pipeline.js";
import { resolveDeliveryOptions } from "../../src/delivery/resolve-options.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { callOfKind, startProjectServer } from "../helpers/project-server.js";
import { errorCollector, eventSize, ids, numberedEvent, tempDir } from "./helpers.js";

let spoolPath: string;
let removeDir: () => void;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(() => {
  const temp = tempDir("write-ahead-refusal");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.restoreAllMocks();
  removeDir();
});

/** Rows committed to the spool file, read by another connection. */
function spoolRows(): number {
  const db = new Database(spoolPath, { readonly: true });
  try {
    return db.prepare("SELECT count(*) FROM spool").pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Write-ahead, each event committed before emit answers. */
const COMMIT_EACH = { writeAhead: true, maxUncommittedEvents: 1 } as const;

/** What onError hears of a failed commit in write-ahead mode. */
function commitFailed(message: string): string {
  return `fake: spool ${spoolPath}: commit failed: ${message}; write-ahead: emit refuses the events it cannot commit until it can commit again`;
}

describe("write-ahead with maxUncommittedEvents 1", () => {
  it("refuses an event the spool has no room for (spool_full), never delivers it, and commits again once rows left", async () => {
    const sink = createFakeSink();
    sink.mode = "hold"; // rows leave the spool only once the sink took them
    const { errors, onError } = errorCollector();
    const pipeline = new DeliveryPipeline(
      resolveDeliveryOptions({
        sink,
        spool: { path: spoolPath, ...COMMIT_EACH, maxBytes: 3 * eventSize() },
        onError,
      }),
    );
    cleanups.push(() => pipeline.close(1000));

    for (let n = 1; n <= 3; n++) expect(pipeline.emit(numberedEvent(n))).toBe("accepted");
    expect(spoolRows()).toBe(3);
    await until(() => sink.held.length === 1);

    expect(pipeline.emit(numberedEvent(4))).toBe("dropped");
    expect(pipeline.stats()).toMatchObject({
      accepted: 3,
      spooled: 3,
      dropped: { spool_full: 1 },
      droppedAfterAccept: 0,
      queueEvents: 0,
      spoolEvents: 3,
    });
    expect(errors.map((error) => error.message)).toStrictEqual([
      "fake: dropped 1 event (spool_full): the spool is full",
    ]);

    // The sink takes the rows: they are deleted, and the spool has room again.
    sink.mode = "ack";
    sink.ackHeld();
    await until(() => pipeline.stats().spoolEvents === 0);
    expect(pipeline.emit(numberedEvent(5))).toBe("accepted");
    expect(spoolRows()).toBe(1); // committed before emit answered
    expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });
    expect(sink.receivedIds()).toStrictEqual([...ids(1, 3), ...ids(5, 5)]);
    expect(pipeline.stats()).toMatchObject({
      accepted: 4,
      delivered: 4,
      spooled: 4,
      dropped: { spool_full: 1 },
    });
  });

  const failures = [
    {
      what: "a full disk",
      reason: "spool_full",
      code: "SQLITE_FULL",
      message: "database or disk is full",
      refused: "the spool is full",
      block: "max_page_count = 1", // SQLite raises it to the file's current size
      unblock: "max_page_count = 1073741823",
    },
    {
      what: "a read-only file",
      reason: "spool_error",
      code: "SQLITE_READONLY",
      message: "attempt to write a readonly database",
      refused: "the spool could not commit it (read-only, busy, I/O error)",
      block: "query_only = ON",
      unblock: "query_only = OFF",
    },
  ] as const;

  it.each(failures)(
    "refuses the events it cannot commit on $what ($reason), never delivers them, and commits again once it can",
    async ({ reason, code, message, refused, block, unblock }) => {
      let now = 1_000_000;
      vi.spyOn(performance, "now").mockImplementation(() => now);
      const sink = createFakeSink();
      const { errors, onError } = errorCollector();
      let connection: { pragma(source: string): unknown } | undefined;
      const pragma = (source: string) => connection?.pragma(source);
      const options: DeliveryEmitterOptions = { sink, spool: { path: spoolPath, ...COMMIT_EACH }, onError };
      const pipeline = new DeliveryPipeline({
        ...resolveDeliveryOptions(options),
        spoolOpened: (db) => {
          connection = db;
        },
      });
      cleanups.push(() => pipeline.close(1000));
      // About 6 KB: its row needs new pages, which a file that may not grow cannot get.
      const large = (n: number) => ({ ...numberedEvent(n), operation: "o".repeat(6000) });

      pragma(block);

      expect(pipeline.emit(large(1))).toBe("dropped"); // the commit fails
      expect(pipeline.emit(large(2))).toBe("dropped"); // the spool takes nothing during the pause
      expect(pipeline.stats()).toMatchObject({
        accepted: 0,
        spooled: 0,
        dropped: { [reason]: 2 },
        droppedAfterAccept: 0,
        queueEvents: 0,
        spoolEvents: 0,
      });
      expect(errors.map((error) => error.message)).toStrictEqual([
        commitFailed(message),
        `fake: dropped 1 event (${reason}): ${refused}`,
      ]);
      expect(errors[0]?.cause).toMatchObject({ code });
      expect(await pipeline.flush(2000)).toMatchObject({ ok: true, pending: 0 });
      expect(sink.receivedIds()).toStrictEqual([]);

      // SQLite takes writes again, and the pause after the failed commit (its retry delay) is over.
      pragma(unblock);
      now += 60_000;
      expect(pipeline.emit(large(3))).toBe("accepted");
      expect(spoolRows()).toBe(1); // committed before emit answered
      expect(pipeline.stats()).toMatchObject({ accepted: 1, spooled: 1 });
      expect(await pipeline.close(2000)).toMatchObject({ ok: true, pending: 0, dropped: 0 });
      expect(sink.receivedIds()).toStrictEqual(ids(3, 3));
      expect(pipeline.stats()).toMatchObject({
        delivered: 1,
        dropped: { [reason]: 2 },
        droppedAfterAccept: 0,
      });
      expect(spoolRows()).toBe(0);
    },
  );

  it("makes a fail-closed call answer UNAVAILABLE over gRPC while the spool cannot take its event", async () => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const emitter = createDeliveryEmitter({
      sink,
      spool: { path: spoolPath, ...COMMIT_EACH, maxBytes: 10 * eventSize() },
      onError: () => {},
    });
    const key = await newSigningKey("k1", "ES256");
    const token = await signToken(key, { sub: "alice" });
    const recorder = createRecorder({ service: "projects", emitters: [emitter] });
    cleanups.push(() => recorder.close());
    // Runs before the Recorder closes, even after a failed assertion: what the sink holds is taken.
    cleanups.push(async () => {
      sink.mode = "ack";
      sink.ackHeld();
    });
    const server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules: auditRules,
        failMode: "closed",
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
      }),
    );
    cleanups.push(() => server.close());
    const call = async () => {
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${token}`);
      return (await callOfKind(server.client, "unary", metadata)).code;
    };

    // The spool is filled to its last byte; the sink holds what it is sent, so no row leaves it.
    for (let n = 1; n <= 10; n++) expect(emitter.emit(numberedEvent(n))).toBe("accepted");
    await until(() => sink.held.length === 1);
    expect(await call()).toBe(status.UNAVAILABLE);
    const refused = emitter.stats();
    expect(refused).toMatchObject({ accepted: 10, droppedAfterAccept: 0, queueEvents: 0 });
    expect(refused.dropped.spool_full).toBeGreaterThanOrEqual(1);

    // The sink takes the rows: the spool has room, and the next call's events are committed.
    sink.mode = "ack";
    sink.ackHeld();
    await until(() => emitter.stats().spoolEvents === 0);
    expect(await call()).toBe(status.OK);
    await emitter.flush({ timeoutMs: 2000 });
    const stats = emitter.stats();
    expect(stats.accepted).toBeGreaterThan(10);
    expect(stats.delivered).toBe(stats.accepted);
    expect(stats.dropped).toStrictEqual(refused.dropped);
    expect(stats.droppedAfterAccept).toBe(0);
    // What the sink got: the ten events, then only the OK call's, once each.
    expect(sink.receivedIds().slice(0, 10)).toStrictEqual(ids(1, 10));
    expect(new Set(sink.receivedIds()).size).toBe(stats.accepted);
  });
});
