/**
 * The filter form in a real Chromium over a real SQLite store: a link or an address with filters
 * (`#/?...`) shows them in the form exactly, and "Apply" queries them unchanged. An audit trail viewer
 * must never query something other than what it shows: values with line breaks or spaces, several
 * types, milliseconds, and filters the form has no field for used to be changed or dropped.
 */
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import { tempDir } from "../cli/helpers.js";
import { type SampleOverrides, sampleEvent } from "../helpers/events.js";
import { launchChromium, storeSource } from "./viewer.js";

let store: AuditStore;
let viewer: UiServer;
let browser: Browser;
let page: Page;

/** A sample event of actor `id`. */
function byActor(id: string, overrides: SampleOverrides): AuditEvent {
  const event = sampleEvent(overrides);
  if (event.actor !== undefined) event.actor.id = id;
  return event;
}

beforeAll(async () => {
  store = openAuditStore({ path: join(tempDir(), "filters.db") });
  store.insert([
    byActor("x\ny", { kind: "authn", eventId: "ev-1" }),
    byActor(" alice ", { kind: "authz", eventId: "ev-2" }),
    byActor("bob", {
      kind: "resourceMutation",
      eventId: "ev-3",
      target: { type: "project", id: "p\r\n1", name: "" },
    }),
    sampleEvent({
      kind: "tupleChange",
      eventId: "ev-4",
      occurredAt: new Date("2026-01-02T03:04:06Z"),
      service: "billing",
      operation: "/acme.billing.v1.BillingService/Charge",
      traceId: "0af7651916cd43dd8448eb211c80319c",
    }),
  ]);
  viewer = await startUiServer({
    port: 0,
    source: storeSource("filters.db", store),
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await viewer?.close();
  store?.close();
});

beforeEach(async () => {
  page = await browser.newPage();
});
afterEach(async () => {
  await page.close();
});

/** Opens the list at `#/?<filters>` and resolves to the ids of the events it shows, once shown. */
async function openList(filters: Record<string, string>): Promise<string[]> {
  await page.goto(`${viewer.url}#/?${new URLSearchParams(filters)}`);
  await expect.poll(() => page.locator("#list-status").textContent(), { timeout: 15_000 }).toMatch(/shown/);
  expect(await page.locator("#error").isHidden()).toBe(true);
  const rows = page.locator("#events tbody tr");
  return (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-event-id") ?? ""))).sort();
}

/** The filters of the page's address. */
const addressFilters = async () =>
  Object.fromEntries(new URLSearchParams(String(await page.evaluate("location.hash")).replace(/^#\/\?/, "")));

it.each([
  ["an actor with a line break", { actor: "x\ny" }, ["ev-1"]],
  ["a target id with a CR LF", { "target-type": "project", "target-id": "p\r\n1" }, ["ev-3"]],
  ["an actor with spaces around it", { actor: " alice " }, ["ev-2"]],
  ["several types", { type: "authn.result,authz.decision" }, ["ev-1", "ev-2"]],
  [
    "an operation, a service and a trace id",
    {
      operation: "/acme.billing.v1.BillingService/Charge",
      service: "billing",
      "trace-id": "0af7651916cd43dd8448eb211c80319c",
    },
    ["ev-4"],
  ],
  [
    "times to the millisecond",
    { from: "2026-01-02T03:04:05.678Z", to: "2026-01-02T03:04:05.679Z" },
    ["ev-1", "ev-2", "ev-3"],
  ],
])("Apply keeps %s from the address", async (_, filters, ids) => {
  expect(await openList(filters)).toEqual(ids);
  await page.locator("#filters button[type=submit]").click();
  expect(await addressFilters()).toEqual(filters);
});

it("shows the address's filters in the form: line breaks as ␍ ␊ in a field kept as is, every type", async () => {
  await openList({ actor: "x\ny", "target-id": "p\r\n1", type: "authn.result,authz.decision" });
  const actor = page.locator("input[name=actor]");
  expect([await actor.inputValue(), await actor.getAttribute("readonly")]).toEqual(["x␊y", ""]);
  expect(await page.locator("input[name=target-id]").inputValue()).toBe("p␍␊1");
  const checked = page.locator("input[name=type]:checked");
  expect(await checked.evaluateAll((boxes) => boxes.map((box) => box.getAttribute("value")))).toEqual([
    "authn.result",
    "authz.decision",
  ]);
  // Cleared, the field is an ordinary one again; a typed value loses its stray spaces.
  await page.locator("#clear").click();
  await expect.poll(() => actor.getAttribute("readonly")).toBe(null);
  await actor.fill(" bob ");
  await page.locator("#filters button[type=submit]").click();
  expect(await addressFilters()).toEqual({ actor: "bob" });
});

it("lists a page of the address's size, with the totals of its filters (a page size is no filter)", async () => {
  expect(await openList({ limit: "2" })).toHaveLength(2);
  expect(await page.locator("#totals").textContent()).toBe("4 events, 1 denied");
});

it.each(["event", "request"])(
  "says that the %s id in the address is not valid percent-encoding",
  async (view) => {
    await page.goto(`${viewer.url}#/${view}/%E0`);
    await page.locator("#error").waitFor();
    expect(await page.locator("#error").textContent()).toBe(
      `The ${view} id in the address is not valid percent-encoding: %E0`,
    );
  },
);
