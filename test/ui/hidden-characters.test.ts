/**
 * Stored text with characters that show as nothing (Unicode category Cf: zero-width spaces and joiners,
 * the BOM, bidi overrides, tags; and the other default-ignorable ones, such as variation selectors) in
 * the real `grpc-audit ui`, in headless Chromium. Shown as they are,
 * an actor "al\u200bice" looks exactly like "alice", and a U+202E reverses the rest of its line: the
 * page marks each as ⟨U+XXXX⟩, and its JSON block writes them as \u escapes, still the exact values.
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

const ACTOR = "al\u200bi\u200dce\ufeff";
const TARGET = "p-1\u202e\u{e0041}";
const OPERATION = "/example.v1.ProjectService/Update\u202eProject";
/** Not format characters, but drawn as nothing (Default_Ignorable_Code_Point): U+034F, U+FE0F, U+115F. */
const IGNORABLE_ACTOR = "al\u034fi\ufe0fc\u115fe";

let browser: Browser;
let viewer: Viewer;
let page: Page;

beforeAll(async () => {
  const db = join(tempDir(), "hidden.db");
  const store = openAuditStore({ path: db });
  const event = sampleEvent({ kind: "resourceMutation" });
  store.insert([
    sampleEvent({
      kind: "resourceMutation",
      actor: { ...(event.actor as NonNullable<typeof event.actor>), id: ACTOR },
      target: { type: "project", id: TARGET, name: "" },
      operation: OPERATION,
    }),
    sampleEvent({ kind: "authn", occurredAt: new Date("2020-01-01T00:00:00Z") }),
    sampleEvent({
      kind: "resourceAccess",
      actor: { ...(event.actor as NonNullable<typeof event.actor>), id: IGNORABLE_ACTOR },
      requestId: "req-ignorable",
      occurredAt: new Date("2021-01-01T00:00:00Z"),
    }),
  ]);
  store.close();
  await buildViewer();
  viewer = await startViewer(["--db", db]);
  browser = await launchChromium();
  page = await browser.newPage();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await viewer?.stop();
});

it("marks each hidden character in the list and the event, and keeps the exact values in its JSON", async () => {
  await page.goto(viewer.url);
  const row = page.locator("#events tbody tr").first();
  await row.waitFor();
  expect(await row.locator("td.actor").textContent()).toBe("al⟨U+200B⟩i⟨U+200D⟩ce⟨U+FEFF⟩");
  expect(await row.locator("td.target").textContent()).toBe("project:p-1⟨U+202E⟩⟨U+E0041⟩");
  expect(await row.locator("td").nth(3).getAttribute("title")).toBe(
    "/example.v1.ProjectService/Update⟨U+202E⟩Project",
  );

  await row.click();
  const pre = page.locator("#event-view pre");
  await pre.waitFor({ state: "attached" });
  const json = (await pre.textContent()) ?? "";
  expect(json).toContain('"id": "al\\u200bi\\u200dce\\ufeff"');
  expect(json).not.toMatch(/[\p{Cf}]/u);
  const parsed = JSON.parse(json) as { actor: { id: string }; target: { id: string } };
  expect([parsed.actor.id, parsed.target.id]).toStrictEqual([ACTOR, TARGET]);
});

it("marks them in a filter from the address, and still searches and keeps the exact value", async () => {
  await page.goto(`${viewer.url}#/?${new URLSearchParams({ actor: ACTOR, "target-id": TARGET })}`);
  await expect.poll(() => page.locator("#list-status").textContent(), { timeout: 15_000 }).toMatch(/shown/);
  const actor = page.locator("input[name=actor]");
  expect([await actor.inputValue(), await actor.getAttribute("readonly")]).toEqual([
    "al⟨U+200B⟩i⟨U+200D⟩ce⟨U+FEFF⟩",
    "",
  ]);
  expect(await page.locator("input[name=target-id]").inputValue()).toBe("p-1⟨U+202E⟩⟨U+E0041⟩");
  expect(await page.locator("#events tbody tr").count()).toBe(1);
  await page.locator("#filters button[type=submit]").click();
  const address = async () =>
    Object.fromEntries(
      new URLSearchParams(String(await page.evaluate("location.hash")).replace(/^#\/\?/, "")),
    );
  await expect.poll(address).toStrictEqual({ actor: ACTOR, "target-id": TARGET });
  expect(await page.locator("#events tbody tr").count()).toBe(1);
});

it("marks the other default-ignorable characters too, in the list and as escapes in the JSON", async () => {
  await page.goto(viewer.url);
  const row = page.locator("#events tbody tr", {
    has: page.locator("td.request", { hasText: /^req-ignorable$/ }),
  });
  await row.waitFor();
  expect(await row.locator("td.actor").textContent()).toBe("al⟨U+034F⟩i⟨U+FE0F⟩c⟨U+115F⟩e");
  await row.click();
  const pre = page.locator("#event-view pre");
  await pre.waitFor({ state: "attached" });
  const json = (await pre.textContent()) ?? "";
  expect(json).toContain('"id": "al\\u034fi\\ufe0fc\\u115fe"');
  expect((JSON.parse(json) as { actor: { id: string } }).actor.id).toBe(IGNORABLE_ACTOR);
});
