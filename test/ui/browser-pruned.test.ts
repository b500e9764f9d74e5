/**
 * A chain pruned up to a signed checkpoint (what `grpc-audit prune` leaves) through the real
 * `grpc-audit ui` (a child process) in Chromium: the chain verifies, and the page notes its pruned
 * prefix on the chain in the words of `grpc-audit verify`, as a note and not a finding. The key id the
 * checkpoints are signed with is markup and hides a zero-width space: the note shows it as text.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import type { PruneReport } from "../../src/store/prune-plan.js";
import { PUBLIC_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { recordDay, TRAIL_T0 } from "./trail.js";
import { buildViewer, launchChromium, startViewer, type Viewer } from "./viewer.js";

/** A key id a Recorder takes (no spaces or controls) that would run script if parsed as HTML. */
const KEY_ID = "audit\u200b<svg/onload=window.pwned='key'>";
/** Half the day's calls are older: the prune cuts the chain at the last checkpoint before. */
const BEFORE = new Date(TRAIL_T0 + 12 * 3_600_000);
let trail: AuditEvent[];
let pruned: PruneReport;
let viewer: Viewer;
let browser: Browser;

beforeAll(async () => {
  const dir = tempDir();
  const db = join(dir, "pruned.db");
  trail = await recordDay(KEY_ID);
  const store = openAuditStore({ path: db });
  store.insert(trail);
  pruned = store.pruneReport({ before: BEFORE });
  store.close();
  const keyFile = join(dir, "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  await buildViewer();
  viewer = await startViewer(["--db", db, "--public-key", `${KEY_ID}=${keyFile}`]);
  browser = await launchChromium();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  expect(await viewer?.stop()).toBe(0);
});

it("notes a pruned chain's deleted seqs on the chain, as a note and not a finding", async () => {
  // The chain starts at its last checkpoint older than BEFORE: the events before it are deleted.
  const anchor = trail
    .filter((e) => e.detail?.$case === "checkpoint" && (e.occurredAt?.getTime() ?? 0) < BEFORE.getTime())
    .pop();
  const anchorSeq = Number(anchor?.chain?.seq ?? 0);
  expect(anchorSeq).toBeGreaterThan(1);
  expect([pruned.deleted, pruned.anchoredChains]).toStrictEqual([anchorSeq - 1, 1]);
  const body = (await (await fetch(`${viewer.url}api/verify`)).json()) as { chains: { pruned?: unknown }[] };
  expect(body).toMatchObject({ ok: true, worst: null, chains: [{ findings: [], firstSeq: anchorSeq }] });
  expect(body.chains[0].pruned).toStrictEqual({ toSeq: anchorSeq - 1, anchorSeq, keyId: KEY_ID });

  const page = await browser.newPage();
  await page.goto(viewer.url);
  await page.locator("#chain.ok").waitFor({ timeout: 15_000 });
  expect(await page.locator("#chain-summary").textContent()).toBe(
    `Chains verified: 1 chain, ${trail.length - pruned.deleted} events, no findings`,
  );
  // The details are drawn with the summary; a click opens them.
  const note = page.locator("#chain-details .chain-report p.note");
  expect(await note.count()).toBe(1);
  await page.locator("#chain-summary").click();
  expect(await note.isVisible()).toBe(true);
  expect(await note.textContent()).toBe(
    `pruned seqs 1-${anchorSeq - 1}: anchored by the checkpoint at seq ${anchorSeq}, ` +
      "signed by key audit⟨U+200B⟩<svg/onload=window.pwned='key'> (not a finding)",
  );
  // Not styled as a finding: not of the class findings have, nor of their colour.
  expect(await note.getAttribute("class")).toBe("note");
  expect(await page.locator("#chain-details .bad").count()).toBe(0);
  const colours = await page.evaluate(`(() => {
    const probe = document.createElement("p");
    probe.className = "bad";
    document.querySelector("#chain-details .chain-report").append(probe);
    const colours = [getComputedStyle(document.querySelector("#chain-details p.note")).color, getComputedStyle(probe).color];
    probe.remove();
    return colours;
  })()`);
  expect(new Set(colours as string[]).size).toBe(2);
  // Its key id stayed text: no element made from it, no script run.
  expect(await page.locator("svg[onload], #chain-details svg").count()).toBe(0);
  expect(await page.evaluate("typeof window.pwned")).toBe("undefined");
  await page.close();
});
