/**
 * Events whose ids are any string a producer or a broker may carry (the Recorder writes UUIDv7s), in a
 * real SQLite store served on loopback: each opens through the API and in Chromium, also the ids URL
 * normalisation would eat in a path (`.`, `..`) and those with URL syntax, spaces, unicode and controls.
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { launchChromium, storeSource } from "./viewer.js";

const IDS = [
  ".",
  "..",
  "../..",
  "/",
  "a/b",
  "a/../b",
  "%",
  "100%",
  "%2e%2e",
  "%2F",
  "?",
  "a?b=c",
  "#",
  "#/event/x",
  "&id=x",
  "+",
  "a+b",
  " ",
  "with space",
  "back\\slash",
  "..\\..",
  "ünïcødé 名前 🙂",
  "\t",
  "line\nbreak",
  "\u0001\u001f\u007f\u0085",
  "", // a store takes an empty id too
  "x".repeat(2000), // longer than any filter value
];

let store: AuditStore;
let viewer: UiServer;
let events: AuditEvent[];

beforeAll(async () => {
  store = openAuditStore({ path: join(tempDir(), "ids.db") });
  const t0 = Date.parse("2026-01-02T03:00:00Z");
  events = IDS.map((eventId, i) =>
    sampleEvent({ kind: "resourceMutation", eventId, occurredAt: new Date(t0 + i * 1000) }),
  );
  expect(store.insert(events)).toBe(IDS.length);
  viewer = await startUiServer({
    port: 0,
    source: storeSource("ids.db", store),
  });
});

afterAll(async () => {
  await viewer?.close();
  store?.close();
});

describe("the API", () => {
  it("answers /api/event?id= with the event of each id", async () => {
    const answers = [];
    for (const id of IDS) {
      const response = await fetch(new URL(`/api/event?${new URLSearchParams({ id })}`, viewer.url));
      answers.push([id, response.status, await response.json()]);
    }
    expect(answers).toEqual(events.map((e) => [e.eventId, 200, { event: eventToJson(e) }]));
  });
});

describe("the page", () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** What the page shows once it opened an event or failed to: the event's JSON, or the error. */
  async function shown(): Promise<unknown> {
    const opened = page.locator("#event-view:visible, #error:visible").first();
    try {
      await opened.waitFor({ timeout: 15_000 });
    } catch {
      return { notOpened: page.url() };
    }
    if (await page.locator("#error").isVisible())
      return { error: await page.locator("#error").textContent() };
    return JSON.parse((await page.locator("#event-view pre").textContent()) ?? ""); // in a closed <details>
  }

  it("opens each event from its row in the list", async () => {
    await page.goto(viewer.url);
    const rows = page.locator("#events tbody tr");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(IDS.length);
    const opened = [];
    // Newest first: the last id's row is the first.
    for (let i = 0; i < IDS.length; i++) {
      const id = IDS[IDS.length - 1 - i] ?? "";
      await page.goto("about:blank");
      await page.goto(viewer.url);
      await rows.nth(i).locator("a").click();
      opened.push([id, await shown()]);
    }
    expect(opened).toEqual(events.map((e) => [e.eventId, eventToJson(e)]).reverse());
  }, 120_000);

  it("opens each event from a link to it (#/event/<id>)", async () => {
    const opened = [];
    for (const id of IDS) {
      await page.goto("about:blank"); // a page load each: a new hash alone would keep the last event shown
      await page.goto(`${viewer.url}#/event/${encodeURIComponent(id)}`);
      opened.push([id, await shown()]);
    }
    expect(opened).toEqual(events.map((e) => [e.eventId, eventToJson(e)]));
  }, 120_000);
});
