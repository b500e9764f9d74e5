/**
 * The web viewer over a shared PostgreSQL store: the real `grpc-audit ui --db postgres://…` (a child
 * process) in headless Chromium, against a real PostgreSQL holding a day of calls (trail.ts).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { KEY_ID, PUBLIC_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";
import { actorOf, isRefused, recordDay, requestIdOf, TRAIL_CALLS } from "./trail.js";
import { buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

let server: PostgresServer;
let url: string;
let trail: AuditEvent[];
let viewer: Viewer;
let browser: Browser;

beforeAll(async () => {
  [server, trail] = await Promise.all([startPostgresServer(), recordDay(), buildViewer()]);
  url = await server.createDatabase();
  const store = await openPostgresStore({ connectionString: url });
  await store.insert(trail);
  await store.close();
  const keyFile = join(tempDir(), "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  viewer = await startViewer(["--db", url, "--public-key", `${KEY_ID}=${keyFile}`]);
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await viewer?.stop();
  await server?.stop();
});

it("shows, filters and verifies a PostgreSQL store as it does a SQLite one", async () => {
  const page = await browser.newPage();
  const rows = page.locator("#events tbody tr");
  await page.goto(viewer.url);
  await page.locator("#chain.ok").waitFor();
  expect(await page.locator("#store").textContent()).toBe(url);
  expect(await page.locator("#chain-summary").textContent()).toBe(
    `Chains verified: 1 chain, ${trail.length} events, no findings`,
  );
  await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(50);
  expect(await rows.first().getAttribute("data-event-id")).toBe(trail[trail.length - 1]?.eventId);

  await page.locator("input[name=actor]").fill("dave");
  await page.locator("input[name=type][value='authz.decision']").check();
  await page.locator("#filters button[type=submit]").click();
  const daveCalls = [...Array(TRAIL_CALLS).keys()].filter((n) => actorOf(n) === "dave" && !isRefused(n));
  await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(daveCalls.length);

  await page.goto(`${viewer.url}#/request/${requestIdOf(12)}`);
  const steps = page.locator("#request-view li.step");
  await steps.first().waitFor();
  expect(await steps.evaluateAll((items) => items.map((li) => li.getAttribute("data-event-id")))).toEqual(
    trail.filter((e) => e.requestId === requestIdOf(12)).map((e) => e.eventId),
  );
  await page.close();
});
