/**
 * The timeline in a real Chromium over a real SQLite store whose rows' time columns were edited to
 * times around the start of year -1: an ISO time then has a sign and six digits of year
 * (-000002-12-31T23:00:00.000Z), and the bars' titles and the axis still read as a day and a time.
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { launchChromium, storeSource } from "./viewer.js";

let store: AuditStore;
let viewer: UiServer;
let browser: Browser;

beforeAll(async () => {
  const path = join(tempDir(), "far-year.db");
  const written = openAuditStore({ path });
  written.insert([
    sampleEvent({ kind: "authn", eventId: "ev-first" }),
    sampleEvent({ kind: "authn", eventId: "ev-last" }),
  ]);
  written.close();
  // Three hours apart: one bucket per hour, from -000002-12-31T23:00Z to -000001-01-01T02:00Z.
  const raw = new BetterSqlite3(path);
  const edit = raw.prepare("UPDATE events SET occurred_at_ms = ? WHERE event_id = ?");
  edit.run(Date.parse("-000002-12-31T23:59:59.999Z"), "ev-first");
  edit.run(Date.parse("-000001-01-01T01:30:00.000Z"), "ev-last");
  raw.close();
  store = openAuditStore({ path });
  viewer = await startUiServer({ port: 0, source: storeSource("far-year.db", store) });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  store?.close();
});

it("labels the bars and the axis of a timeline before year 0000 with their days and times", async () => {
  const page = await browser.newPage();
  try {
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(viewer.url);
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
    expect(pageErrors).toStrictEqual([]);
  } finally {
    await page.close();
  }
});
