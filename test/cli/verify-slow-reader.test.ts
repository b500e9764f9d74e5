// `grpc-audit verify` into a pipe its reader empties slowly (`verify … | less`): the summary waits
// for the pipe to drain between lines, so all of it arrives and nothing is written to stderr (lines
// written without waiting each added listeners to stdout: MaxListenersExceededWarning).
import { once } from "node:events";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, seedEvents, startCli, tempDir } from "./helpers.js";

/** One-event chains, each with a wrong hash: two lines of summary each, well over a pipe's 64 KiB. */
const CHAINS = 1500;

let db: string;

beforeAll(async () => {
  db = join(tempDir(), "many-chains.db");
  const store = openAuditStore({ path: db });
  store.insert(
    seedEvents(CHAINS).map((event, i) => ({
      ...event,
      chain: { chainId: `chain-${i}`, seq: 1, prevHash: "", hash: "0".repeat(64) },
    })),
  );
  store.close();
  await ensureBuilt();
}, BUILD_TIMEOUT_MS);

it("prints every line to a slow reader and nothing to stderr", async () => {
  const child = startCli(["verify", "--db", db]);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const closed = once(child, "close");
  await sleep(1000); // stdout is not read meanwhile: the pipe fills
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  expect(await closed).toStrictEqual([9, null]);
  expect(stderr).toBe("");
  const lines = stdout.trimEnd().split("\n");
  expect(lines.filter((line) => line.startsWith("chain "))).toHaveLength(CHAINS);
  expect(lines.at(-1)).toMatch(/^NOT verified: 1500 findings in 1500 chains; worst modified \(exit 9\)$/);
});
