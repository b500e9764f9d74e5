/**
 * Answers that come back for a view already left, in a real Chromium over a real SQLite store: a list
 * whose store read is slow and then fails must not put its error over the event opened meanwhile. The
 * store's reads are held until the test lets them go, so the order is fixed, not timed.
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { SAMPLE_IDS, sampleEvents } from "../helpers/events.js";
import { emptyVerifyReport, launchChromium } from "./viewer.js";

/** A promise and its resolve function. */
function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const listAsked = deferred();
const listReleased = deferred();
const eventAsked = deferred();
const eventReleased = deferred();
let store: AuditStore;
let viewer: UiServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  store = openAuditStore({ path: join(tempDir(), "stale.db") });
  store.insert(sampleEvents());
  /** The list of actor "slow" waits, then fails as a locked store does; one event's read waits. */
  const slowList = async (actorId: string | undefined) => {
    if (actorId !== "slow") return;
    listAsked.resolve();
    await listReleased.promise;
    throw new Error("database is locked");
  };
  viewer = await startUiServer({
    port: 0,
    source: {
      name: "stale.db",
      query: async (filter, page) => {
        await slowList(filter.actorId);
        if (filter.eventId !== undefined) {
          eventAsked.resolve();
          await eventReleased.promise;
        }
        return store.query(filter, page);
      },
      stats: async (filter) => {
        await slowList(filter.actorId);
        return store.stats(filter);
      },
      verify: async () => emptyVerifyReport(),
    },
  });
  browser = await launchChromium();
  page = await browser.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  store?.close();
});

it("shows no error of a list already left for an event", async () => {
  const failed = ["/api/events?", "/api/stats?"].map((path) =>
    page.waitForResponse((response) => response.url().includes(`${path}actor=slow`)),
  );
  await page.goto(`${viewer.url}#/?actor=slow`);
  await listAsked.promise;
  await page.evaluate(`location.hash = "#/event/${SAMPLE_IDS.authz}"`);
  await eventAsked.promise;
  // The list's answers (its errors) arrive first, then the event's.
  listReleased.resolve();
  for (const response of await Promise.all(failed)) {
    expect(response.status()).toBe(500);
    await response.finished();
  }
  eventReleased.resolve();
  await page.locator("#event-view table.fields").waitFor();
  expect([await page.locator("#error").isHidden(), await page.locator("#error").textContent()]).toEqual([
    true,
    "",
  ]);
});
