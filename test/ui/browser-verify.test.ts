/**
 * The chains' verification of a badly damaged store, through the real `grpc-audit ui` (a child process)
 * in Chromium: every other stored row of a day's signed chain cannot be read. /api/verify lists the
 * first findings and unreadable rows with their counts, not all of them, and the page says how many
 * more there are: one response and one page per finding would grow with the damage.
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { recordDay } from "./trail.js";
import { buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

/** What /api/verify lists at most, of findings (all chains together) and of unreadable rows. */
const LISTED = 100;
let damaged: number;
let viewer: Viewer;
let browser: Browser;

interface VerifyBody {
  chains: { findings: unknown[]; findingCount: number }[];
  unreadable: { where: string }[];
  unreadableCount: number;
}

beforeAll(async () => {
  const db = join(tempDir(), "damaged-chain.db");
  const store = openAuditStore({ path: db });
  store.insert(await recordDay());
  store.close();
  const raw = new BetterSqlite3(db);
  damaged = raw.prepare("UPDATE events SET event = ? WHERE seq % 2 = 0").run(Buffer.from([0x0f])).changes;
  raw.close();
  await buildViewer();
  viewer = await startViewer(["--db", db]);
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  expect(await viewer?.stop()).toBe(0);
});

it("lists the first findings and unreadable rows with their counts, and shows how many more", async () => {
  const body = (await (await fetch(`${viewer.url}api/verify`)).json()) as VerifyBody;
  const [chain] = body.chains;
  expect(body.chains).toHaveLength(1);
  expect(chain?.findings).toHaveLength(LISTED);
  expect(chain?.findingCount).toBeGreaterThan(LISTED);
  expect([body.unreadable.length, body.unreadableCount]).toEqual([LISTED, damaged]);
  expect(body.unreadable[0]?.where).toMatch(/^row 2 \(event /);

  const page = await browser.newPage();
  await page.goto(viewer.url);
  await page.locator("#chain.bad").waitFor({ timeout: 15_000 });
  const findings = (chain?.findingCount ?? 0) + damaged;
  expect(await page.locator("#chain-summary").textContent()).toBe(
    `Chains NOT verified: ${findings} findings, worst modified`,
  );
  expect(await page.locator("#chain-details li.bad").count()).toBe(LISTED);
  expect(await page.locator("#chain-details li.more").textContent()).toBe(
    `${(chain?.findingCount ?? 0) - LISTED} more findings in this chain`,
  );
  expect(await page.locator("#chain-details p.bad").count()).toBe(LISTED);
  expect(await page.locator("#chain-details p.more").textContent()).toBe(
    `${damaged - LISTED} more unreadable rows`,
  );
  await page.close();
});
