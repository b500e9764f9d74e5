/**
 * A request whose stored events include a damaged row, in a real Chromium over a real SQLite store:
 * "Follow this request" names the row that cannot be read, in its place, as the list does; an audit
 * trail must not lose a step silently.
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { SAMPLE_IDS, sampleEvent } from "../helpers/events.js";
import { launchChromium, storeSource } from "./viewer.js";

let viewer: UiServer;
let browser: Browser;
let close: () => void = () => {};

beforeAll(async () => {
  const db = join(tempDir(), "damaged.db");
  const store = openAuditStore({ path: db });
  const t0 = Date.parse("2026-01-02T03:00:00Z");
  store.insert(
    (["authn", "authz", "resourceMutation"] as const).map((kind, i) =>
      sampleEvent({ kind, requestId: "req-1", occurredAt: new Date(t0 + i * 1000) }),
    ),
  );
  const raw = new BetterSqlite3(db);
  raw.prepare("UPDATE events SET event = ? WHERE seq = 2").run(Buffer.from([0x0f])); // no wire type 7
  raw.close();
  close = () => store.close();
  viewer = await startUiServer({
    port: 0,
    source: storeSource("damaged.db", store),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  close();
});

it("follows a request across its events and names its unreadable row in its place", async () => {
  const page = await browser.newPage();
  await page.goto(`${viewer.url}#/request/req-1`);
  const steps = page.locator("#request-view li.step");
  await steps.first().waitFor({ timeout: 15_000 });
  expect(
    await steps.evaluateAll((items) =>
      items.map((li) => [li.getAttribute("data-event-id"), li.classList.contains("unreadable")]),
    ),
  ).toEqual([
    [SAMPLE_IDS.authn, false],
    [SAMPLE_IDS.authz, true],
    [SAMPLE_IDS.resourceMutation, false],
  ]);
  expect(await steps.nth(1).textContent()).toBe(
    `2026-01-02 03:00:01Z unreadable stored event ${SAMPLE_IDS.authz} (row 2): the stored bytes are not an AuditEvent (cant skip wire type 7)`,
  );
  expect(await page.locator("#request-view p.muted").textContent()).toBe(
    "3 events from 2026-01-02 03:00:00Z to 2026-01-02 03:00:02Z, 1 of them unreadable",
  );
  await page.close();
});
