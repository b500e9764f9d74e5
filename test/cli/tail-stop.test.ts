// `grpc-audit tail` whose reader stops reading held on to a drain that never came: SIGTERM and the
// first SIGINT did not end it, and a stop was only seen after the whole backlog was printed.
import { once } from "node:events";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, seedEvents, startCli, tempDir } from "./helpers.js";

// Far more JSON lines than a pipe and stdout's buffer hold (about 80 KiB): the writes wait on the reader.
const EVENTS = 4000;
let db: string;

beforeAll(async () => {
  db = join(tempDir(), "audit.db");
  const store = openAuditStore({ path: db });
  store.insert(seedEvents(EVENTS));
  store.close();
  await ensureBuilt();
}, BUILD_TIMEOUT_MS);

/** Starts `tail --json --from-start` and stops reading its stdout after the first chunk. */
async function stalledTail() {
  const child = startCli(["tail", "--db", db, "--json", "--from-start"]);
  let lines = 0;
  child.stdout.on("data", (chunk: Buffer) => {
    lines += chunk.toString().split("\n").length - 1;
  });
  await once(child.stdout, "data");
  child.stdout.pause();
  const exited = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
  // A guard, not a measure: a tail that never ends fails the test instead of hanging it.
  const guard = setTimeout(() => child.kill("SIGKILL"), 8000);
  afterAll(() => clearTimeout(guard));
  return { child, exited, lines: () => lines };
}

it("ends with exit code 0 on SIGTERM while its reader does not read", async () => {
  const run = await stalledTail();
  run.child.kill("SIGTERM");
  expect(await run.exited).toStrictEqual([0, null]);
});

it("stops printing a backlog on SIGINT, without waiting for the rest of it to be read", async () => {
  const run = await stalledTail();
  run.child.kill("SIGINT");
  run.child.stdout.resume();
  expect(await run.exited).toStrictEqual([0, null]);
  expect(run.lines()).toBeLessThan(EVENTS / 2);
});
