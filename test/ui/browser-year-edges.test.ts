/**
 * The timeline in a real Chromium over real SQLite stores whose events lie at the edges of the years
 * an ISO time can show:
 * - around the start of year -1 (rows' time columns edited by hand): an ISO time then has a sign and
 *   six digits of year (-000002-12-31T23:00:00.000Z), and the bars' titles and the axis still read as
 *   a day and a time;
 * - in the last days of 9999: the last bar reaches past 9999-12-31, and a click on it asked for
 *   `to=+010000-01-01T00:00:00.000Z`, which the API refuses (400, "No events shown", review R134). Its
 *   range now ends at 9999-12-31T23:59:59.999Z, the last time an event can carry, and the click lists
 *   its events.
 */
import { basename, join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { launchChromium, storeSource } from "./viewer.js";

const stores: AuditStore[] = [];
const viewers: UiServer[] = [];
let farYear: UiServer;
let lastYear: UiServer;
let browser: Browser;

/** A viewer of the store at `path`, closed after the tests. */
async function view(path: string): Promise<UiServer> {
  const store = openAuditStore({ path });
  stores.push(store);
  const viewer = await startUiServer({ port: 0, source: storeSource(basename(path), store) });
  viewers.push(viewer);
  return viewer;
}

beforeAll(async () => {
  const farPath = join(tempDir(), "far-year.db");
  const written = openAuditStore({ path: farPath });
  written.insert([
    sampleEvent({ kind: "authn", eventId: "ev-first" }),
    sampleEvent({ kind: "authn", eventId: "ev-last" }),
  ]);
  written.close();
  // Three hours apart: one bucket per hour, from -000002-12-31T23:00Z to -000001-01-01T02:00Z.
  const raw = new BetterSqlite3(farPath);
  const edit = raw.prepare("UPDATE events SET occurred_at_ms = ? WHERE event_id = ?");
  edit.run(Date.parse("-000002-12-31T23:59:59.999Z"), "ev-first");
  edit.run(Date.parse("-000001-01-01T01:30:00.000Z"), "ev-last");
  raw.close();
  farYear = await view(farPath);

  const lastPath = join(tempDir(), "last-year.db");
  const last = openAuditStore({ path: lastPath });
  // 288 hours apart: buckets of 3 hours, the last from 9999-12-31T21:00Z to (past) the end of 9999.
  last.insert([
    sampleEvent({ kind: "authn", eventId: "ev-early", occurredAt: new Date("9999-12-20T00:00:00Z") }),
    sampleEvent({ kind: "authz", eventId: "ev-last", occurredAt: new Date("9999-12-31T23:30:00Z") }),
  ]);
  last.close();
  lastYear = await view(lastPath);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(viewers.map((viewer) => viewer.close()));
  for (const store of stores) store.close();
});

/** Runs `use` on a new page of `url`, then checks that the page threw nothing. */
async function onPage(url: string, use: (page: Page) => Promise<void>): Promise<void> {
  const page = await browser.newPage();
  try {
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(url);
    await use(page);
    expect(pageErrors).toStrictEqual([]);
  } finally {
    await page.close();
  }
}

it("labels the bars and the axis of a timeline before year 0000 with their days and times", async () => {
  await onPage(farYear.url, async (page) => {
    await expect.poll(() => page.locator("svg.chart g.bucket").count(), { timeout: 15_000 }).toBe(3);
    expect(await page.locator("svg.chart g.bucket title").allTextContents()).toStrictEqual([
      "-000002-12-31 23:00Z – -000001-01-01 00:00Z: 1 events, 0 denied",
      "-000001-01-01 00:00Z – -000001-01-01 01:00Z: 0 events, 0 denied",
      "-000001-01-01 01:00Z – -000001-01-01 02:00Z: 1 events, 0 denied",
    ]);
    // The axis: the first bar's start, then the last bar's end (the numbers of the count axis aside).
    const ticks = await page.locator("svg.chart text.tick").allTextContents();
    expect(ticks.filter((text) => text.endsWith("Z"))).toStrictEqual([
      "-000002-12-31 23:00Z",
      "-000001-01-01 02:00Z",
    ]);
  });
});

it("lists the events of the last bar of 9999 when it is clicked, asking for a time up to the end of 9999", async () => {
  await onPage(lastYear.url, async (page) => {
    await expect.poll(() => page.locator("#list-status").textContent(), { timeout: 15_000 }).toMatch(/shown/);
    const last = page.locator('svg.chart g.bucket[data-start="9999-12-31T21:00:00.000Z"]');
    const title = await last.locator("title").textContent();
    await last.locator("rect.hit").click();
    // The list of the bar's range, or the failure to load it (the API's 400).
    await expect
      .poll(() => page.locator("#list-status").textContent(), { timeout: 15_000 })
      .toMatch(/^(1 event shown|No events shown.*)$/);
    expect(await page.locator("#list-status").textContent()).toBe("1 event shown");
    expect(await page.locator("#error").isHidden()).toBe(true);
    const filters = new URLSearchParams(String(await page.evaluate("location.hash")).replace(/^#\/\?/, ""));
    expect(Object.fromEntries(filters)).toStrictEqual({
      from: "9999-12-31T21:00:00.000Z",
      to: "9999-12-31T23:59:59.999Z",
    });
    const rows = page.locator("#events tbody tr");
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-event-id")))).toStrictEqual([
      "ev-last",
    ]);
    // The bar's title ends where its range does.
    expect(title).toBe("9999-12-31 21:00Z – 9999-12-31 23:59Z: 1 events, 1 denied");
  });
});
