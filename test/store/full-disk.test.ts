// A store whose file system is full, for real (a small tmpfs filled up): an insert fails with an error
// naming the store and saying why, not SQLite's bare "database or disk is full", and the delivery
// pipeline keeps retrying it, as any failed write, until there is space again: nothing is dropped.
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { AuditEmitError } from "../../src/errors/index.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { errorCollector, ids, numberedEvents } from "../delivery/helpers.js";
import { until } from "../helpers/fake-sink.js";
import { mountTmpfs, type Tmpfs } from "./tmpfs.js";

let disk: Tmpfs;
let file: string;
let store: AuditStore | undefined;

beforeEach(() => {
  disk = mountTmpfs(4096);
  file = path.join(disk.dir, "audit.db");
});

afterEach(() => {
  store?.close();
  store = undefined;
  disk.remove();
});

/** Events of about 6 KB: a batch of them needs new pages, which a full disk cannot give. */
function large(count: number, prefix: string): AuditEvent[] {
  return numberedEvents(count, "authz", prefix).map((e) => ({ ...e, operation: "o".repeat(6000) }));
}

const full = () =>
  `audit store ${file}: cannot write it: its file system is full (SQLITE_FULL); free space on it`;

describe("a store on a full file system", () => {
  it("fails an insert with an AuditEmitError naming the file and saying its file system is full", () => {
    store = openAuditStore({ path: file, backgroundCheckpoints: false });
    store.insert(large(3, "a"));
    disk.fill();

    let thrown: unknown;
    try {
      store.insert(large(20, "b"));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AuditEmitError);
    expect((thrown as Error).message).toBe(full());
    expect(((thrown as Error).cause as { code?: unknown }).code).toBe("SQLITE_FULL");
    // Nothing of the batch was stored, and space freed, the same insert goes in.
    expect(store.stats().total).toBe(3);
    disk.free();
    expect(store.insert(large(20, "b"))).toBe(20);
  });

  it("through the delivery pipeline: the events are retried, not dropped, and stored once there is space", async () => {
    store = openAuditStore({ path: file, backgroundCheckpoints: false });
    store.insert(large(3, "a"));
    disk.fill();
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({
      sink: store.sink(),
      retry: { initialDelayMs: 1, maxDelayMs: 5 },
      flushIntervalMs: 1,
      onError,
    });
    for (const event of large(20, "b")) emitter.emit(event);
    await until(() => emitter.stats().retried >= 2);

    expect(emitter.stats()).toMatchObject({ delivered: 0, dropped: {} });
    expect((errors[0]?.cause as Error | undefined)?.message).toBe(full());
    disk.free();
    expect(await emitter.flush()).toMatchObject({ ok: true });
    expect(emitter.stats()).toMatchObject({ delivered: 20, dropped: {} });
    await emitter.close();
    expect(
      store
        .query({}, { limit: 100 })
        .events.map((e) => e.eventId)
        .sort(),
    ).toStrictEqual([...ids(1, 3, "a"), ...ids(1, 20, "b")]);
  });
});
