/**
 * The timeline in a real Chromium over a real SQLite store whose events lie in the last days of 9999:
 * the last bar reaches past 9999-12-31, and a click on it asked for `to=+010000-01-01T00:00:00.000Z`,
 * which the API refuses (400, "No events shown", review R134). Its range now ends at
 * 9999-12-31T23:59:59.999Z, the last time an event can carry, and the click lists its events.
 */
import { join } from "node:path";
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
  store = openAuditStore({ path: join(tempDir(), "last-year.db") });
  // 288 hours apart: buckets of 3 hours, the last from 9999-12-31T21:00Z to (past) the end of 9999.
  store.insert([
    sampleEvent({ kind: "authn", eventId: "ev-early", occurredAt: new Date("9999-12-20T00:00:00Z") }),
    sampleEvent({ kind: "authz", eventId: "ev-last", occurredAt: new Date("9999-12-31T23:30:00Z") }),
  ]);
  viewer = await startUiServer({ port: 0, source: storeSource("last-year.db", store) });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  store?.close();
});

it("lists the events of the last bar of 9999 when it is clicked, asking for a time up to the end of 9999", async () => {
  const page = await browser.newPage();
  try {
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(viewer.url);
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
    expect(pageErrors).toStrictEqual([]);
  } finally {
    await page.close();
  }
});
