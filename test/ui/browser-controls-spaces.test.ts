/**
 * Stored ids with control characters (Unicode category Cc) and spaces HTML hides, in headless Chromium.
 * Shown as they are, "alice\n", "alice\t", "alice " and " alice" render as "alice", "al  ice" as
 * "al ice", and "al\u0007ice" as "alice": the page marks each as ⟨U+000A⟩, and what Chromium renders
 * (innerText) tells every id apart.
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { launchChromium, storeSource } from "./viewer.js";

/** Each stored actor id and the text the page must render for it. */
const SHOWN: readonly [string, string][] = [
  ["alice", "alice"],
  ["alice ", "alice⟨U+0020⟩"],
  [" alice", "⟨U+0020⟩alice"],
  ["alice\n", "alice⟨U+000A⟩"],
  ["alice\r\n", "alice⟨U+000D⟩⟨U+000A⟩"],
  ["alice\t", "alice⟨U+0009⟩"],
  ["alice\u00a0", "alice⟨U+00A0⟩"],
  ["al ice", "al ice"],
  ["al  ice", "al⟨U+0020⟩⟨U+0020⟩ice"],
  ["al\u00a0ice", "al⟨U+00A0⟩ice"],
  ["al\u0007ice", "al⟨U+0007⟩ice"],
  ["al\u001bice", "al⟨U+001B⟩ice"],
  ["al\u007fice", "al⟨U+007F⟩ice"],
  ["al\u0085ice", "al⟨U+0085⟩ice"],
];

let store: AuditStore;
let viewer: UiServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  store = openAuditStore({ path: join(tempDir(), "controls.db") });
  const event = sampleEvent({ kind: "resourceMutation", chain: undefined });
  store.insert(
    SHOWN.map(([id], i) => ({
      ...event,
      eventId: `019b7ca9-8f2e-7000-8000-0000000001${String(i).padStart(2, "0")}`,
      requestId: `req-${i}`,
      actor: { ...(event.actor as NonNullable<typeof event.actor>), id },
    })),
  );
  viewer = await startUiServer({ source: storeSource("controls.db", store), port: 0 });
  browser = await launchChromium();
  page = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  store?.close();
});

it("renders each id marked, so that no two look alike", async () => {
  await page.goto(viewer.url);
  await expect.poll(() => page.locator("#events tbody tr").count()).toBe(SHOWN.length);
  // innerText: what Chromium renders, after CSS collapsed the spaces (textContent is before).
  const requests = await page.locator("#events td.request").allInnerTexts();
  const actors = await page.locator("#events td.actor").allInnerTexts();
  const byRequest = new Map(requests.map((request, i) => [request, actors[i]]));
  expect(SHOWN.map((_, i) => byRequest.get(`req-${i}`))).toStrictEqual(SHOWN.map(([, shown]) => shown));
});

it("marks them in the event's fields, and its JSON keeps the exact value", async () => {
  const i = SHOWN.findIndex(([id]) => id === "al\u0085ice");
  await page
    .locator("#events tbody tr", { has: page.locator("td.request", { hasText: new RegExp(`^req-${i}$`) }) })
    .click();
  const actorId = page.locator(".fields tr", { has: page.locator("th", { hasText: /^actor\.id$/ }) });
  await actorId.waitFor();
  expect(await actorId.locator("td").allInnerTexts()).toStrictEqual(["al⟨U+0085⟩ice"]);
  const json = (await page.locator("#event-view pre").textContent()) ?? "";
  expect(json).toContain('"id": "al\\u0085ice"');
  expect((JSON.parse(json) as { actor: { id: string } }).actor.id).toBe("al\u0085ice");
});
