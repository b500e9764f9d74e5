/**
 * The viewer's paging in a real Chromium over a real SQLite store of one long request (a server stream
 * that records an access per message, more events than an API page holds), served from a store some
 * way off (a next page takes a moment, as over a network): "Load more" lists each event once however
 * often it is clicked, and "Follow this request" shows every event of the request (docs/ui.md).
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { emptyVerifyReport, launchChromium } from "./viewer.js";

const EVENTS = 1203;
const idOf = (i: number) => `ev-${String(i).padStart(5, "0")}`;
let store: AuditStore;
let viewer: UiServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  store = openAuditStore({ path: join(tempDir(), "stream.db") });
  const t0 = Date.parse("2026-01-02T03:00:00Z");
  store.insert(
    Array.from({ length: EVENTS }, (_, i) =>
      sampleEvent({
        kind: "resourceAccess",
        eventId: idOf(i),
        requestId: "req-stream",
        occurredAt: new Date(t0 + i * 10),
      }),
    ),
  );
  viewer = await startUiServer({
    port: 0,
    source: {
      name: "stream.db",
      query: async (filter, page) => {
        if (page.cursor !== undefined) await sleep(300);
        return store.query(filter, page);
      },
      stats: async (filter) => store.stats(filter),
      verify: async () => emptyVerifyReport(),
    },
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  store?.close();
});

beforeEach(async () => {
  page = await browser.newPage();
});
afterEach(async () => {
  await page.close();
});

it("lists each event once when Load more is double-clicked", async () => {
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

it("follows a request across all its events, oldest first, beyond one page of 1000", async () => {
  await page.goto(`${viewer.url}#/request/req-stream`);
  const steps = page.locator("#request-view li.step");
  await steps.first().waitFor({ timeout: 15_000 });
  expect(await page.locator("#request-view p.muted").textContent()).toMatch(/^1203 events from /);
  expect(await steps.count()).toBe(EVENTS);
  expect(await steps.first().getAttribute("data-event-id")).toBe(idOf(0));
  expect(await steps.last().getAttribute("data-event-id")).toBe(idOf(EVENTS - 1));
});
