/**
 * The real `grpc-audit ui` over a SQLite store another process holds locked (a rollback-journal file
 * under `BEGIN EXCLUSIVE`): the API says so in the words of the viewer's stderr line, naming the store
 * as the page already does, not SQLite's bare "database is locked".
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { buildViewer, startViewer, type Viewer } from "./viewer.js";

beforeAll(buildViewer, BUILD_TIMEOUT_MS);

async function get(viewer: Viewer, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, viewer.url));
  return { status: response.status, body: await response.json() };
}

it("answers each read of a store locked by another process as its stderr line says it", async () => {
  const db = join(tempDir(), "lock.db");
  const store = openAuditStore({ path: db });
  store.insert([sampleEvent()]);
  store.close();
  // A rollback journal: a writer's exclusive lock keeps readers out (in WAL mode they read on).
  const holder = new BetterSqlite3(db);
  holder.pragma("journal_mode = DELETE");
  const viewer = await startViewer(["--db", db]);
  const locked = `audit store ${db}: the database is locked by another process`;
  holder.exec("BEGIN EXCLUSIVE");
  try {
    for (const path of ["/api/events", "/api/stats"]) {
      expect([path, await get(viewer, path)]).toEqual([
        path,
        { status: 500, body: { error: `cannot read the store: ${locked}` } },
      ]);
    }
  } finally {
    holder.exec("ROLLBACK");
    holder.close();
    expect(await viewer.stop()).toBe(0);
  }
  expect(viewer.stderr()).toBe(`error: ${locked}\n`.repeat(2));
}, 30_000);
