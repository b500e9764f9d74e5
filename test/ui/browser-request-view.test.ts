/**
 * "Follow this request" in a real Chromium over a real SQLite store, for a request with more events
 * than one API page holds (a server stream that records an access per message): docs/ui.md promises
 * every event that carries the request id, oldest first.
 */
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { launchChromium } from "./viewer.js";

const EVENTS = 1203;
const idOf = (i: number) => `ev-${String(i).padStart(5, "0")}`;
let store: AuditStore;
let viewer: UiServer;
let browser: Browser;

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
      query: async (filter, page) => store.query(filter, page),
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

it("follows a request across all its events, oldest first, beyond one page of 1000", async () => {
  const page = await browser.newPage();
  await page.goto(`${viewer.url}#/request/req-stream`);
  const steps = page.locator("#request-view li.step");
  await steps.first().waitFor({ timeout: 15_000 });
  expect(await page.locator("#request-view p.muted").textContent()).toMatch(/^1203 events from /);
  expect(await steps.count()).toBe(EVENTS);
  expect(await steps.first().getAttribute("data-event-id")).toBe(idOf(0));
  expect(await steps.last().getAttribute("data-event-id")).toBe(idOf(EVENTS - 1));
});
