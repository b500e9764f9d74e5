/**
 * A hostile trail in the web viewer: events whose text is markup and script (in the actor, target,
 * operation, request id, attributes and status message), written straight into a real SQLite store as
 * anyone with write access to it could, shown by the real `grpc-audit ui` in headless Chromium. Every
 * such text must show as text: no dialog, no element made from it, no script run.
 */
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { SAMPLE_IDS, sampleEvent } from "../helpers/events.js";
import { buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

/** Each would set `window.pwned` or open a dialog if the page ever parsed it as HTML. */
const HOSTILE = {
  actor: `<img src=x onerror="window.pwned='actor';alert('actor')">`,
  displayName: `"><script>window.pwned='name'</script>`,
  targetId: `</script><script>window.pwned='target'</script>`,
  targetName: `<iframe src="javascript:alert('iframe')"></iframe>`,
  operation: `/x.Y/"><img src=x onerror=alert('operation')>`,
  requestId: `<img src=x onerror="window.pwned='request'">`,
  message: `</script><svg onload="window.pwned='message'">`,
  attributeKey: `<b onmouseover=alert('key')>`,
  attributeValue: `<img src=x onerror="window.pwned='value'">`,
};

let browser: Browser;
let viewer: Viewer;
let page: Page;
const dialogs: string[] = [];

beforeAll(async () => {
  const db = join(tempDir(), "hostile.db");
  const store = openAuditStore({ path: db });
  const fields = {
    operation: HOSTILE.operation,
    requestId: HOSTILE.requestId,
    attributes: { [HOSTILE.attributeKey]: HOSTILE.attributeValue },
  };
  const actor = { ...sampleEvent().actor, id: HOSTILE.actor, displayName: HOSTILE.displayName };
  store.insert([
    sampleEvent({
      ...fields,
      kind: "authz",
      actor: actor as NonNullable<ReturnType<typeof sampleEvent>["actor"]>,
      target: { type: "project", id: HOSTILE.targetId, name: HOSTILE.targetName },
      result: { success: false, code: "PERMISSION_DENIED", message: HOSTILE.message },
    }),
    sampleEvent({
      ...fields,
      kind: "resourceMutation",
      occurredAt: new Date("2026-01-02T03:04:06Z"),
      actor: actor as NonNullable<ReturnType<typeof sampleEvent>["actor"]>,
    }),
    // A row whose bytes are damaged: listed as unreadable, in its place.
    sampleEvent({ ...fields, kind: "resourceAccess" }),
  ]);
  store.close();
  const raw = new BetterSqlite3(db);
  raw.prepare("UPDATE events SET event = ? WHERE seq = 3").run(Buffer.from([0x0f]));
  raw.close();
  await buildViewer();
  viewer = await startViewer(["--db", db]);
  browser = await launchChromium();
  page = await browser.newPage();
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await viewer?.stop();
});

/** No element was made from stored text, no handler attribute exists, no script set `pwned`. */
async function expectNothingInjected(): Promise<void> {
  const injected = await page
    .locator("img, iframe, b, script:not([src]), [onerror], [onload], [onmouseover]")
    .count();
  expect(injected).toBe(0);
  expect(await page.evaluate("typeof window.pwned")).toBe("undefined");
  expect(dialogs).toEqual([]);
}

it("shows hostile stored text as text in the list, the event and the request", async () => {
  await page.goto(viewer.url);
  const rows = page.locator("#events tbody tr");
  await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
  expect(await page.locator("#events tr.undecodable").textContent()).toBe(
    `2026-01-02 03:04:05Zunreadable stored event ${SAMPLE_IDS.resourceAccess} (row 3): the stored bytes are not an AuditEvent (cant skip wire type 7)`,
  );
  expect(await rows.locator("td.actor").allTextContents()).toEqual([HOSTILE.actor, HOSTILE.actor]);
  expect(await rows.locator("td.target").last().textContent()).toBe(`project:${HOSTILE.targetId}`);
  expect(await rows.locator("td.request").first().textContent()).toBe(HOSTILE.requestId);
  await expectNothingInjected();

  await rows.last().click(); // the authz decision, which has every hostile field
  const fields = page.locator("#event-view table.fields");
  await fields.waitFor();
  const value = (path: string) =>
    fields.locator("tr", { has: page.locator("th", { hasText: path }) }).locator("td");
  expect(await value(`attributes.${HOSTILE.attributeKey}`).textContent()).toBe(HOSTILE.attributeValue);
  expect(await value("result.message").textContent()).toBe(HOSTILE.message);
  expect(await value("actor.displayName").textContent()).toBe(HOSTILE.displayName);
  expect(await value("target.name").textContent()).toBe(HOSTILE.targetName);
  expect(await value("operation").first().textContent()).toBe(HOSTILE.operation);
  expect(await page.locator("#event-view pre").textContent()).toContain(JSON.stringify(HOSTILE.message));
  await page.locator("#event-view a", { hasText: "Events of this actor" }).hover();
  await expectNothingInjected();

  await page.locator("#event-view").getByText("Follow this request").click();
  await page.locator("#request-view li.step").first().waitFor();
  expect(await page.locator("#request-view h2 code").textContent()).toBe(HOSTILE.requestId);
  // Its two events, and its damaged row named in its place.
  expect(await page.locator("#request-view li.step").count()).toBe(3);
  expect(await page.locator("#request-view li.step.unreadable").count()).toBe(1);
  await expectNothingInjected();
});

it("reports the broken chain of those events", async () => {
  // The sample events carry made-up chain hashes: the verification must say so.
  await expect
    .poll(() => page.locator("#chain-summary").textContent(), { timeout: 15_000 })
    .toMatch(/^Chains NOT verified: \d+ findings?, worst \w+$/);
});

it("runs no inline script: the Content-Security-Policy blocks it", async () => {
  const violated = await page.evaluate(`new Promise((resolve) => {
    document.addEventListener("securitypolicyviolation", (e) => resolve(e.effectiveDirective), { once: true });
    const script = document.createElement("script");
    script.textContent = "window.pwned = 'inline'";
    document.body.append(script);
    // An inline script that is allowed runs as it is appended: no violation will come then.
    if (window.pwned !== undefined) resolve("none: the script ran");
  })`);
  expect(violated).toBe("script-src-elem");
  expect(await page.evaluate("typeof window.pwned")).toBe("undefined");
});
