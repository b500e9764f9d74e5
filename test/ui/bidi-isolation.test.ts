/**
 * Stored values joined in one line of the real `grpc-audit ui`, in headless Chromium. In one run of
 * text an RTL value reorders its neighbours: "create פ:12" and "create 12:פ" would read the same. The
 * page puts each stored value in its own <bdi>, so each keeps its place.
 */
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ActorType, MutationType } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

const HEBREW = "פ";

/** A mutation of `type:id`, alone in its request. */
function mutation(eventId: string, requestId: string, type: string, id: string) {
  return sampleEvent({
    kind: "resourceMutation",
    eventId,
    requestId,
    chain: undefined,
    actor: {
      id: "alice",
      type: ActorType.ACTOR_TYPE_USER,
      displayName: "",
      email: "",
      subject: "",
      clientId: "",
      realm: "",
    },
    operation: "/example.v1.ProjectService/CreateProject",
    target: { type, id, name: "" },
    detail: {
      $case: "resourceMutation",
      value: { mutation: MutationType.MUTATION_TYPE_CREATE, resourceType: type, resourceId: id },
    },
  });
}

let browser: Browser;
let viewer: Viewer;
let page: Page;

beforeAll(async () => {
  const db = join(tempDir(), "bidi.db");
  const store = openAuditStore({ path: db });
  store.insert([
    mutation("019b7ca9-8f2e-7000-8000-0000000000a1", "req-rtl-type", HEBREW, "12"),
    mutation("019b7ca9-8f2e-7000-8000-0000000000a2", "req-rtl-id", "12", HEBREW),
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

/** The text of each <bdi> in `node`, and whether each is drawn left of the next (page order). */
async function isolates(node: Locator): Promise<{ texts: string[]; leftToRight: boolean }> {
  const bdis = node.locator("bdi");
  const texts = await bdis.allTextContents();
  const xs: number[] = [];
  for (let i = 0; i < texts.length; i++) xs.push((await bdis.nth(i).boundingBox())?.x ?? Number.NaN);
  return { texts, leftToRight: xs.every((x, i) => i === 0 || (xs[i - 1] ?? Number.NaN) < x) };
}

const row = (requestId: string) =>
  page.locator("#events tbody tr", {
    has: page.locator("td.request", { hasText: new RegExp(`^${requestId}$`) }),
  });

it("keeps the type and the id of a target apart in the list", async () => {
  await page.goto(viewer.url);
  await row("req-rtl-type").waitFor();
  for (const [requestId, type, id] of [
    ["req-rtl-type", HEBREW, "12"],
    ["req-rtl-id", "12", HEBREW],
  ] as const) {
    const target = row(requestId).locator("td.target");
    expect(await target.textContent()).toBe(`${type}:${id}`);
    expect(await isolates(target)).toStrictEqual({ texts: [type, id], leftToRight: true });
  }
});

it("keeps each stored value of an event's summary and of a request's step apart", async () => {
  await page.goto(`${viewer.url}#/request/req-rtl-type`);
  const step = page.locator("#request-view li.step .muted");
  await step.waitFor();
  expect(await step.textContent()).toBe(
    `alice · /example.v1.ProjectService/CreateProject · create ${HEBREW}:12`,
  );
  expect(await isolates(step)).toStrictEqual({
    texts: ["alice", "/example.v1.ProjectService/CreateProject", "create", HEBREW, "12"],
    leftToRight: true,
  });

  await page.goto(viewer.url);
  await row("req-rtl-id").click();
  const summary = page.locator("#event-view p.summary");
  await summary.waitFor();
  expect(await summary.textContent()).toBe(`create 12:${HEBREW}`);
  expect(await isolates(summary)).toStrictEqual({ texts: ["create", "12", HEBREW], leftToRight: true });
  const bidi = await page.evaluate(
    `[...document.querySelectorAll("#event-view p.summary bdi")].map((node) => getComputedStyle(node).unicodeBidi)`,
  );
  expect(bidi).toStrictEqual(["isolate", "isolate", "isolate"]);
});
