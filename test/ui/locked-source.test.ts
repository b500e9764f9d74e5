/**
 * `startUiServer` over a SQLite store another process holds locked, without the CLI's wording around
 * it: the API answered `cannot read the store: database is locked` (SQLite's bare words), onError got
 * better-sqlite3's SqliteError, and the page's banner showed the bare words too. They now name the
 * store as the store's open error and `grpc-audit ui` do, and the viewer answers normally once the
 * lock is gone. The lock is real: a second connection, to a rollback-journal file, under
 * `BEGIN EXCLUSIVE` (in WAL mode readers would read on).
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { SAMPLE_IDS, sampleEvent } from "../helpers/events.js";
import { launchChromium, storeSource } from "./viewer.js";

const db = join(tempDir(), "locked.db");
const locked = `audit store ${db}: the database is locked by another process`;
const reported: Error[] = [];
let holder: BetterSqlite3.Database;
let store: AuditStore;
let viewer: UiServer;
let browser: Browser;

beforeAll(async () => {
  const writer = openAuditStore({ path: db });
  writer.insert([sampleEvent({ kind: "authz" })]);
  writer.close();
  holder = new BetterSqlite3(db);
  holder.pragma("journal_mode = DELETE");
  // No busy wait: a read meets the lock at once (the assertions do not depend on it).
  store = openAuditStore({ path: db, readonly: true, busyTimeoutMs: 0 });
  viewer = await startUiServer({
    port: 0,
    source: storeSource(db, store),
    onError: (error) => reported.push(error),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  store?.close();
  if (holder?.inTransaction) holder.exec("ROLLBACK");
  holder?.close();
});

async function get(path: string): Promise<[string, number, unknown]> {
  const response = await fetch(new URL(path, viewer.url));
  return [path, response.status, await response.json()];
}

const PATHS = ["/api/events", "/api/stats", `/api/event?id=${SAMPLE_IDS.authz}`];

it("says the store is locked by another process in the API's answer, onError and the page, then reads it once the lock is gone", async () => {
  holder.exec("BEGIN EXCLUSIVE");
  try {
    const answers = [];
    for (const path of PATHS) answers.push(await get(path));
    expect(answers).toStrictEqual(
      PATHS.map((path) => [path, 500, { error: `cannot read the store: ${locked}` }]),
    );
    expect(reported.map((error) => [error.name, error.message])).toStrictEqual(
      PATHS.map(() => ["AuditError", locked]),
    );
    // SQLite's own error stays at hand for whoever debugs it, as the cause.
    expect(reported.map((error) => (error.cause as { code?: unknown }).code)).toStrictEqual(
      PATHS.map(() => "SQLITE_BUSY"),
    );

    const page = await browser.newPage();
    try {
      await page.goto(viewer.url);
      await page.locator("#error").waitFor();
      expect(await page.locator("#error").textContent()).toBe(`cannot read the store: ${locked}`);
    } finally {
      await page.close();
    }
  } finally {
    holder.exec("ROLLBACK");
  }

  const [, status, body] = await get("/api/events");
  expect([status, (body as { events: { eventId: string }[] }).events.map((e) => e.eventId)]).toStrictEqual([
    200,
    [SAMPLE_IDS.authz],
  ]);
  expect(await get(`/api/event?id=${SAMPLE_IDS.authz}`)).toMatchObject([
    `/api/event?id=${SAMPLE_IDS.authz}`,
    200,
    { event: { eventId: SAMPLE_IDS.authz } },
  ]);
  const page = await browser.newPage();
  try {
    await page.goto(viewer.url);
    await expect
      .poll(() => page.locator("#list-status").textContent(), { timeout: 15_000 })
      .toBe("1 event shown");
    expect(await page.locator("#error").isHidden()).toBe(true);
  } finally {
    await page.close();
  }
}, 60_000);
