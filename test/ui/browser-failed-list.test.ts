/**
 * A list that cannot be shown, in a real Chromium over a real SQLite store: after a filter the API
 * refuses (400), a store read that fails (500) or a value too long to send (431), the previous list's
 * rows, totals and timeline are gone and the status no longer says "Loading…"; the banner says why.
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { type DetailKind, sampleEvent } from "../helpers/events.js";
import { launchChromium, storeSource } from "./viewer.js";

/** An actor id of 3,000 Hebrew letters: percent-encoded, its filter is an 18,000-character query. */
const LONG_ACTOR = "פ".repeat(3000);

let store: AuditStore;
let viewer: UiServer;
let browser: Browser;
let page: Page;
/** Set by a test: the next read of a page after the first (a "Load more") fails once. */
let failNextMore = false;

/** A sample event of kind `kind` by actor `id`. */
function byActor(id: string, kind: DetailKind, eventId: string): AuditEvent {
  const event = sampleEvent({ kind, eventId });
  if (event.actor !== undefined) event.actor.id = id;
  return event;
}

beforeAll(async () => {
  store = openAuditStore({ path: join(tempDir(), "failed-list.db") });
  // Written to the store directly: the Recorder would cap the long id at 256 bytes, another writer need not.
  store.insert([
    byActor("u1", "authn", "ev-1"),
    byActor("u1", "authz", "ev-2"),
    byActor(LONG_ACTOR, "authz", "ev-long"),
  ]);
  viewer = await startUiServer({
    port: 0,
    source: storeSource("failed-list.db", store, {
      query: async (filter, options) => {
        if (filter.actorId === "broken") throw new Error("disk I/O error");
        if (options?.cursor !== undefined && failNextMore) {
          failNextMore = false;
          throw new Error("disk I/O error");
        }
        return store.query(filter, options);
      },
    }),
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
  await page.goto(`${viewer.url}#/?actor=u1`);
  await expect
    .poll(() => page.locator("#list-status").textContent(), { timeout: 15_000 })
    .toBe("2 events shown");
  expect(await page.locator("#totals").textContent()).toBe("2 events, 1 denied");
});
afterEach(async () => {
  await page.close();
});

/** What the list shows once the error banner is up. */
async function listAfterError() {
  await page.locator("#error").waitFor();
  return {
    error: await page.locator("#error").textContent(),
    rows: await page.locator("#events tbody tr").count(),
    totals: await page.locator("#totals").textContent(),
    chart: await page.locator("#chart").innerHTML(),
    status: await page.locator("#list-status").textContent(),
    more: await page.locator("#more").isHidden(),
  };
}

/** The list, as it must be after a list that could not be loaded. */
const nothingShown = (error: string) => ({
  error,
  rows: 0,
  totals: "",
  chart: "",
  status: "No events shown: the list could not be loaded.",
  more: true,
});

it("shows none of the previous list after a filter the API refuses (Apply)", async () => {
  await page.locator("input[name=trace-id]").fill("4BF92F3577B34DA6A3CE929D0E0E4736");
  await page.locator("#filters button[type=submit]").click();
  expect(await listAfterError()).toEqual(
    nothingShown("`trace-id` must be 32 lowercase hex digits, as in a traceparent header"),
  );
});

it.each([
  [
    "an impossible date",
    "from=2026-02-30T00:00:00Z",
    "`from` must be an ISO time in UTC, such as 2026-11-23T10:00:00Z",
  ],
  ["a store read that fails", "actor=broken", "cannot read the store: disk I/O error"],
])("shows none of the previous list after %s", async (_, filters, error) => {
  await page.evaluate(`location.hash = "#/?${filters}"`);
  expect(await listAfterError()).toEqual(nothingShown(error));
});

it("says that a value too long to send cannot be looked up (431)", async () => {
  await page.evaluate(`location.hash = "#/event/ev-long"`);
  await page.getByText("Events of this actor").click();
  expect(await listAfterError()).toEqual(
    nothingShown(
      "A value in the address is too long for the viewer to look up (431 Request Header Fields Too Large).",
    ),
  );
});

it("takes the banner down once a Load more that failed loads on the next click", async () => {
  await page.evaluate(`location.hash = "#/?actor=u1&limit=1"`);
  await expect.poll(() => page.locator("#list-status").textContent()).toBe("1 event shown; more below");
  failNextMore = true;
  await page.locator("#more").click();
  await page.locator("#error").waitFor();
  expect(await page.locator("#error").textContent()).toBe("cannot read the store: disk I/O error");
  await page.locator("#more").click();
  await expect.poll(() => page.locator("#list-status").textContent()).toBe("2 events shown");
  expect(await page.locator("#error").isHidden()).toBe(true);
});
