/**
 * A tuple change with a conditional tuple, recorded by a real Recorder, through the real `grpc-audit ui`
 * (a child process) in Chromium: the event's summary names each tuple's condition and the keys of its
 * context, so a conditional grant does not read as an unconditional one. The condition's name and a
 * key are markup: they show as text.
 */
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

/** Each would set `window.pwned` or open a dialog if the page ever parsed it as HTML. */
const NAME = `in_office_hours<img src=x onerror="window.pwned='name'">`;
const KEY = `<b onmouseover=alert('key')>`;
let eventId: string;
let viewer: Viewer;
let browser: Browser;

beforeAll(async () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "documents",
    emitters: [memory],
    now: () => new Date("2026-11-20T09:00:00Z"),
  });
  recorder.recordTupleChange({
    operation: "/example.v1.DocumentService/Share",
    actor: { id: "alice" },
    requestId: "req-share",
    tuples: [
      {
        operation: "write",
        user: "user:bob",
        relation: "viewer",
        object: "document:d-1",
        condition: { name: NAME, contextKeys: ["time", KEY, "ip"] },
      },
      { operation: "write", user: "user:carol", relation: "viewer", object: "document:d-1" },
    ],
  });
  await recorder.close();
  const [event] = memory.events;
  eventId = event?.eventId ?? "";
  const db = join(tempDir(), "conditions.db");
  const store = openAuditStore({ path: db });
  store.insert([...memory.events]);
  store.close();
  await buildViewer();
  viewer = await startViewer(["--db", db]);
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  expect(await viewer?.stop()).toBe(0);
});

it("shows a conditional tuple's condition and context keys in the event, as text", async () => {
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(`${viewer.url}#/event/${encodeURIComponent(eventId)}`);
  const summary = page.locator("#event-view p.summary");
  await summary.waitFor({ timeout: 15_000 });
  // The keys as recorded: sorted, never the context's values.
  expect(await summary.textContent()).toBe(
    `write user:bob viewer document:d-1 with condition ${NAME} (context keys: ${KEY}, ip, time); ` +
      "write user:carol viewer document:d-1",
  );
  // The same in the request's steps.
  await page.locator("#event-view").getByText("Follow this request").click();
  await page.locator("#request-view li.step").first().waitFor();
  expect(await page.locator("#request-view li.step .muted").first().textContent()).toContain(
    `with condition ${NAME} (context keys: ${KEY}, ip, time); write user:carol`,
  );
  expect(await page.locator("img, b, [onerror], [onmouseover]").count()).toBe(0);
  expect(await page.evaluate("typeof window.pwned")).toBe("undefined");
  expect(dialogs).toStrictEqual([]);
  await page.close();
});
