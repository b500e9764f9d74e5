import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder, type Recorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEY, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { buildViewer, launchChromium, startViewer } from "../ui/viewer.js";
import { BUILD_TIMEOUT_MS, runCli, tempDir } from "./helpers.js";

// Three servers of one service write into one real SQLite store through the delivery pipeline: two
// name their instance, the third (configured as before the option existed) does not.
let db: string;
let keyFile: string;
/** Chain id of each server's Recorder, by the instance it was given ("" for none). */
const chainOf = new Map<string, string>();

beforeAll(async () => {
  const dir = tempDir();
  db = join(dir, "fleet.db");
  keyFile = join(dir, "audit-test.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const store = openAuditStore({ path: db });
  const servers = ["pod-7", "pod-9", ""].map((instance) => {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({
      service: "projects",
      ...(instance === "" ? {} : { instance }),
      emitters: [memory, createDeliveryEmitter({ sink: store.sink() })],
      chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 2 },
    });
    return { instance, memory, recorder };
  });
  const each = (run: (recorder: Recorder) => void) => {
    for (const { recorder } of servers) run(recorder);
  };
  each((recorder) => recordMutations(recorder, 2));
  each((recorder) => recordMutations(recorder, 1, 3));
  for (const { recorder } of servers) expect((await recorder.close()).ok).toBe(true);
  store.close();
  for (const { instance, memory } of servers) chainOf.set(instance, memory.events[0]?.chain?.chainId ?? "");
  await buildViewer(); // the CLI (ensureBuilt) and the viewer's page
}, BUILD_TIMEOUT_MS);

/** Each chain's line, by chain id. */
function chainLines(stdout: string): Map<string, string> {
  const lines = stdout.split("\n").filter((line) => line.startsWith("chain "));
  return new Map(lines.map((line) => [line.split(" ")[1] ?? "", line]));
}

describe("grpc-audit verify over the chains of several servers", () => {
  it("names the instance that recorded each chain, and only the service when the events have none", async () => {
    const run = await runCli(["verify", "--db", db, "--public-key", `${KEY_ID}=${keyFile}`]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    // Mutations at seqs 1, 2 and 4, a checkpoint at 3 (after 2 events) and the final one at 5.
    const rest = "5 events, seq 1-5, 2 checkpoints (2 verified), sealed";
    const lines = chainLines(run.stdout);
    expect(lines.size).toBe(3);
    expect(lines.get(chainOf.get("pod-7") ?? "")).toBe(
      `chain ${chainOf.get("pod-7")} (projects on pod-7): ${rest}`,
    );
    expect(lines.get(chainOf.get("pod-9") ?? "")).toBe(
      `chain ${chainOf.get("pod-9")} (projects on pod-9): ${rest}`,
    );
    expect(lines.get(chainOf.get("") ?? "")).toBe(`chain ${chainOf.get("")} (projects): ${rest}`);
  });

  it("gives each chain report its instance in --json, none when the events have none", async () => {
    const run = await runCli(["verify", "--db", db, "--json"]);
    expect(run.stderr).toBe("");
    const report = JSON.parse(run.stdout) as { chains: Record<string, unknown>[] };
    const byId = new Map(report.chains.map((chain) => [chain.chainId, chain]));
    expect(byId.size).toBe(3);
    expect(byId.get(chainOf.get("pod-7"))).toMatchObject({ service: "projects", instance: "pod-7" });
    expect(byId.get(chainOf.get("pod-9"))).toMatchObject({ service: "projects", instance: "pod-9" });
    expect(byId.get(chainOf.get(""))).toMatchObject({ service: "projects" });
    expect(Object.keys(byId.get(chainOf.get("")) ?? {})).not.toContain("instance");
  });
});

describe("grpc-audit ui over the chains of several servers", () => {
  let stop: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of stop.reverse()) await close();
    stop = [];
  });

  it("names the instance that recorded each chain in the verify view", async () => {
    const viewer = await startViewer(["--db", db, "--public-key", `${KEY_ID}=${keyFile}`]);
    stop.push(() => viewer.stop());
    const browser = await launchChromium();
    stop.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(viewer.url);
    await page.locator("#chain.ok").waitFor({ timeout: 15_000 });
    const lines = await page.locator("#chain-details .chain-report > p").allTextContents();
    const rest = "5 events, seq 1-5, 2 checkpoints (2 verified), sealed";
    expect(lines.sort()).toStrictEqual(
      [
        `chain ${chainOf.get("pod-7")} (projects on pod-7): ${rest}`,
        `chain ${chainOf.get("pod-9")} (projects on pod-9): ${rest}`,
        `chain ${chainOf.get("")} (projects): ${rest}`,
      ].sort(),
    );
  });
});
