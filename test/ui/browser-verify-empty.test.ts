/**
 * The chains' verification of an emptied store through the real `grpc-audit ui --sealed` (a child
 * process) in Chromium: nothing to verify is a finding when the trail must be sealed, and the page
 * says so with the finding's sentence, as `grpc-audit verify --sealed` does.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

let viewer: Viewer;
let browser: Browser;

beforeAll(async () => {
  const dir = tempDir();
  const db = join(dir, "emptied.db");
  openAuditStore({ path: db }).close();
  const keyFile = join(dir, "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  await buildViewer();
  viewer = await startViewer(["--db", db, "--sealed", "--public-key", `${KEY_ID}=${keyFile}`]);
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  expect(await viewer?.stop()).toBe(0);
});

it("shows an empty store that must be sealed as not verified, worst empty", async () => {
  const body = await (await fetch(`${viewer.url}api/verify`)).json();
  expect(body).toMatchObject({ ok: false, worst: "empty", chains: [], unusedKeys: [KEY_ID] });
  const page = await browser.newPage();
  await page.goto(viewer.url);
  await page.locator("#chain.bad").waitFor({ timeout: 15_000 });
  expect(await page.locator("#chain-summary").textContent()).toBe(
    `Chains NOT verified: 1 finding, worst empty; key ${KEY_ID} signed no checkpoint of the trail`,
  );
  expect(await page.locator("#chain-details p.bad").allTextContents()).toStrictEqual([
    "empty: the trail holds no event: nothing was verified",
  ]);
  await page.close();
});
