/**
 * The chain status of a chain holding one event, its recorder's final checkpoint, through the real
 * `grpc-audit ui` (a child process) in Chromium: its counts read "1 event", "1 checkpoint".
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY, SIGNING_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

let viewer: Viewer;
let browser: Browser;
let chainId: string;

beforeAll(async () => {
  const dir = tempDir();
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
  });
  await recorder.close(); // records nothing but its final checkpoint
  expect(memory.events).toHaveLength(1);
  chainId = memory.events[0]?.chain?.chainId ?? "";
  const store = openAuditStore({ path: join(dir, "one-checkpoint.db") });
  store.insert(memory.events);
  store.close();
  const keyFile = join(dir, "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  await buildViewer();
  viewer = await startViewer(["--db", store.path, "--public-key", `${KEY_ID}=${keyFile}`]);
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  expect(await viewer?.stop()).toBe(0);
});

it("counts one event and one checkpoint in the singular", async () => {
  const page = await browser.newPage();
  await page.goto(viewer.url);
  await page.locator("#chain.ok").waitFor({ timeout: 15_000 });
  expect(await page.locator("#chain-summary").textContent()).toBe(
    "Chains verified: 1 chain, 1 event, no findings",
  );
  expect(await page.locator("#chain-details .chain-report p").first().textContent()).toBe(
    `chain ${chainId} (projects): 1 event, seq 1-1, 1 checkpoint (1 verified), sealed`,
  );
  await page.close();
});
