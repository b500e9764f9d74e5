/**
 * The web viewer end to end: the real `grpc-audit ui` (a child process) over a real SQLite store, in
 * Debian's headless Chromium. The store holds a day of calls recorded by a real Recorder with a signed
 * chain (trail.ts); a second store holds hostile events, written straight into it as anyone with
 * write access to the store could.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventKind } from "../../src/event/kinds.js";
import { type AuditEvent, AuthzDecision } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, REPO, tempDir } from "../cli/helpers.js";
import { actorOf, isRefused, recordDay, requestIdOf, TRAIL_CALLS } from "./trail.js";
import { ARTIFACTS, buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

let dir: string;
let browser: Browser;
let trail: AuditEvent[];
let viewer: Viewer;
let page: Page;
/** What the page reported as errors (console errors, uncaught exceptions), per test. */
let pageErrors: string[];

beforeAll(async () => {
  dir = tempDir();
  trail = await recordDay();
  const db = join(dir, "trail.db");
  const store = openAuditStore({ path: db });
  store.insert(trail);
  store.close();
  const keyFile = join(dir, "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  await buildViewer();
  viewer = await startViewer(["--db", db, "--public-key", `${KEY_ID}=${keyFile}`]);
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  // SIGTERM is how the viewer is meant to be stopped: it closes and exits 0.
  expect(await viewer?.stop()).toBe(0);
});

beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  pageErrors = [];
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(message.text());
  });
  page.on("pageerror", (error) => pageErrors.push(error.message));
});

afterEach(async () => {
  await page.close();
});

const rows = (p: Page = page) => p.locator("#events tbody tr");
const column = (name: string) => {
  const index = ["time", "kind", "actor", "operation", "target", "outcome", "request"].indexOf(name) + 1;
  return page.locator(`#events tbody tr td:nth-child(${index})`);
};
/** Waits until the table shows exactly `count` rows (each view change replaces them). */
const untilRows = (count: number) => expect.poll(() => rows().count(), { timeout: 15_000 }).toBe(count);
const denials = (events: readonly AuditEvent[]) =>
  events.filter(
    (e) => e.detail?.$case === "authz" && e.detail.value.decision === AuthzDecision.AUTHZ_DECISION_DENIED,
  );

describe("grpc-audit ui over a day of calls", () => {
  it("loads: the store, the verified chain, the timeline of events and denials, pages of events", async () => {
    await page.goto(viewer.url);
    await page.locator("#chain.ok").waitFor();
    expect(await page.locator("#store").textContent()).toBe(join(dir, "trail.db"));
    expect(await page.locator("#chain-summary").textContent()).toBe(
      `Chains verified: 1 chain, ${trail.length} events, no findings`,
    );
    await untilRows(50);
    expect(await page.locator("#totals").textContent()).toBe(
      `${trail.length} events, ${denials(trail).length} denied`,
    );
    // One bar per hour of the day, each titled with its counts.
    const buckets = page.locator("svg.chart g.bucket");
    expect(await buckets.count()).toBe(24);
    const first = trail.filter((e) => (e.occurredAt?.getTime() ?? 0) < Date.parse("2026-11-20T01:00:00Z"));
    expect(await buckets.first().locator("title").textContent()).toBe(
      `2026-11-20 00:00Z – 2026-11-20 01:00Z: ${first.length} events, ${denials(first).length} denied`,
    );
    // Newest first, as the store pages them.
    const newest = trail[trail.length - 1];
    expect(await rows().first().getAttribute("data-event-id")).toBe(newest?.eventId);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "ui.png") });
    if (process.env.UPDATE_SCREENSHOTS === "1") await page.screenshot({ path: join(REPO, "docs/ui.png") });
    await page.locator("#more").click();
    await untilRows(100);
    expect(await page.locator("#list-status").textContent()).toBe("100 events shown; more below");
    expect(pageErrors).toEqual([]);
  });

  it("filters by actor, type, decision, request id and time", async () => {
    await page.goto(viewer.url);
    await untilRows(50);
    await page.locator("input[name=actor]").fill("dave");
    await page.locator("input[name=type][value='authz.decision']").check();
    await page.locator("#filters button[type=submit]").click();
    const daveCalls = [...Array(TRAIL_CALLS).keys()].filter((n) => actorOf(n) === "dave" && !isRefused(n));
    await untilRows(daveCalls.length);
    expect(page.url()).toContain("#/?type=authz.decision&actor=dave");
    expect(new Set(await column("actor").allTextContents())).toEqual(new Set(["dave"]));
    expect(new Set(await column("outcome").allTextContents())).toEqual(new Set(["denied"]));

    await page.locator("#clear").click();
    await untilRows(50);
    await page.locator("select[name=decision]").selectOption("denied");
    await page.locator("#filters button[type=submit]").click();
    await untilRows(denials(trail).length);
    expect(new Set(await column("kind").allTextContents())).toEqual(new Set(["authz.decision"]));

    await page.locator("#clear").click();
    await untilRows(50);
    await page.locator("input[name=request-id]").fill(requestIdOf(12));
    await page.locator("#filters button[type=submit]").click();
    await untilRows(4);
    expect(new Set(await column("request").allTextContents())).toEqual(new Set([requestIdOf(12)]));

    // A click on the timeline's 05:00 bar shows that hour (and keeps no other filter but the time).
    await page.locator("#clear").click();
    await untilRows(50);
    const hour5 = trail.filter((e) => e.occurredAt?.toISOString().startsWith("2026-11-20T05:"));
    await page.locator('svg.chart g.bucket[data-start="2026-11-20T05:00:00.000Z"] rect.hit').click();
    await untilRows(hour5.length);
    expect(new Set((await column("time").allTextContents()).map((t) => t.slice(0, 13)))).toEqual(
      new Set(["2026-11-20 05"]),
    );
    // Chromium shows a time input's zero seconds as none.
    expect(await page.locator("input[name=from]").inputValue()).toBe("2026-11-20T05:00");
    expect(await page.locator("input[name=to]").inputValue()).toBe("2026-11-20T06:00");
    expect(pageErrors).toEqual([]);
  });

  it("opens an event and follows its request across its events", async () => {
    const call = trail.filter((e) => e.requestId === requestIdOf(12));
    const mutation = call.find((e) => e.detail?.$case === "resourceMutation");
    await page.goto(`${viewer.url}#/?request-id=${requestIdOf(12)}`);
    await untilRows(4);
    await page.locator(`tr[data-event-id="${mutation?.eventId}"]`).click();
    const detail = page.locator("#event-view");
    await detail.locator("table.fields").waitFor();
    expect(await detail.locator("h2").textContent()).toBe("resource.mutation ok OK");
    expect(await detail.locator(".summary").textContent()).toBe("create project:p-2");
    const field = (path: string) => detail.locator("table.fields tr", { hasText: path }).locator("td");
    expect(await field("eventId").first().textContent()).toBe(mutation?.eventId);
    expect(await field("resourceMutation.mutation").textContent()).toBe("MUTATION_TYPE_CREATE");

    await detail.getByText("Follow this request").click();
    const steps = page.locator("#request-view li.step");
    await steps.first().waitFor();
    expect(await steps.evaluateAll((items) => items.map((li) => li.getAttribute("data-event-id")))).toEqual(
      call.map((e) => e.eventId),
    );
    expect(await steps.locator("strong").allTextContents()).toEqual(call.map((e) => eventKind(e.eventType)));
    expect(await page.locator("#request-view h2").textContent()).toBe(`Request ${requestIdOf(12)}`);

    // Back to the list it came from, filter and all.
    await page.locator("#request-view").getByText("← Back to the events").click();
    await untilRows(4);
    expect(await page.locator("input[name=request-id]").inputValue()).toBe(requestIdOf(12));
    expect(pageErrors).toEqual([]);
  });

  it("shows the API's message for a filter it refuses", async () => {
    await page.goto(`${viewer.url}#/?trace-id=not-hex`);
    const error = page.locator("#error");
    await error.waitFor();
    expect(await error.textContent()).toBe(
      "`trace-id` must be 32 lowercase hex digits, as in a traceparent header",
    );
  });
});
