/**
 * Another web site in a real Chromium cannot make the viewer read the store: its page can send
 * requests to the viewer (it cannot read the answers), and each /api/verify would read the whole
 * store. The viewer refuses what Chromium marks as coming from another site, and its own page, in the
 * same browser, still loads its list and its verification.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startUiServer, type UiServer } from "../../src/ui/ui-server.js";
import type { UiSource } from "../../src/ui/ui-source.js";
import { emptyVerifyReport, launchChromium } from "./viewer.js";

/** The store's reads the viewer made. */
const reads: string[] = [];
const source: UiSource = {
  name: "cross-site.db",
  query: async () => {
    reads.push("query");
    return { events: [], nextCursor: undefined };
  },
  stats: async () => {
    reads.push("stats");
    return { total: 0, byType: {}, byResult: {}, byDecision: {}, topOperations: [], perHour: [] };
  },
  verify: async () => {
    reads.push("verify");
    return emptyVerifyReport();
  },
};
let viewer: UiServer;
/** Another site: a page on `localhost`, which is not the site `127.0.0.1` is. */
let elsewhere: Server;
let browser: Browser;

beforeAll(async () => {
  viewer = await startUiServer({ source, port: 0 });
  elsewhere = createServer((_, response) => {
    response.writeHead(200, { "Content-Type": "text/html" });
    response.end("<!doctype html><title>elsewhere</title>");
  });
  elsewhere.listen(0, "127.0.0.1");
  await once(elsewhere, "listening");
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  elsewhere?.close();
  await viewer?.close();
});

it("refuses another site's requests to its API, and its own page still works", async () => {
  const page = await browser.newPage();
  await page.goto(`http://localhost:${(elsewhere.address() as AddressInfo).port}/`);
  // An image and a no-cors fetch: requests any page may send anywhere, whose answers it cannot read.
  const statuses = await page.evaluate(`(async (url) => {
    await new Promise((resolve) => {
      const image = new Image();
      image.onload = image.onerror = resolve;
      image.src = url + "api/verify";
    });
    const blocked = () => "blocked";
    return [
      await fetch(url + "api/verify", { mode: "no-cors" }).then((r) => r.type, blocked),
      await fetch(url + "api/events").then(String, blocked),
    ];
  })(${JSON.stringify(viewer.url)})`);
  // Its answers stay unreadable either way (Cross-Origin-Resource-Policy, CORS); what counts is the reads.
  expect(statuses).toEqual(["blocked", "blocked"]);
  expect(reads).toEqual([]);

  await page.goto(viewer.url);
  await page.locator("#chain:not(.pending)").waitFor({ timeout: 15_000 });
  expect(await page.locator("#chain").getAttribute("class")).toBe("chain none");
  await expect.poll(() => page.locator("#list-status").textContent(), { timeout: 15_000 }).toMatch(/shown/);
  expect(await page.locator("#error").isHidden()).toBe(true);
  expect([...new Set(reads)].sort()).toEqual(["query", "stats", "verify"]);
  await page.close();
});
