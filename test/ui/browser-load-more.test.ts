/**
 * "Load more" in a real Chromium over a real SQLite store: a double click (or a second click while the
 * next page is still coming) must not list the same events twice.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { launchChromium } from "./viewer.js";

const EVENTS = 120;
let store: AuditStore;
let viewer: UiServer;
let browser: Browser;

beforeAll(async () => {
  store = openAuditStore({ path: join(tempDir(), "load-more.db") });
  const t0 = Date.parse("2026-01-02T03:00:00Z");
  store.insert(
    Array.from({ length: EVENTS }, (_, i) =>
      sampleEvent({ eventId: `ev-${String(i).padStart(3, "0")}`, occurredAt: new Date(t0 + i * 1000) }),
    ),
  );
  viewer = await startUiServer({
    port: 0,
    source: {
      name: "load-more.db",
      // A store some way off (PostgreSQL over a network): a next page takes a moment.
      query: async (filter, page) => {
        if (page.cursor !== undefined) await sleep(300);
        return store.query(filter, page);
      },
      stats: async (filter) => store.stats(filter),
      verify: async () => ({ ok: true, chains: [], events: 0, unchained: 0, unreadable: [] }),
    },
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  store?.close();
});

it("lists each event once when Load more is double-clicked", async () => {
  const page = await browser.newPage();
  await page.goto(viewer.url);
  const rows = page.locator("#events tbody tr");
  await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(50);
  await page.locator("#more").dblclick();
  await expect.poll(() => rows.count(), { timeout: 15_000 }).toBeGreaterThan(50);
  await sleep(1000); // let a second answer, if one was asked for, arrive
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-event-id")));
  expect(ids.length).toBe(100);
  expect(new Set(ids).size).toBe(ids.length);
});
