// A process that dies in the middle of a write leaves part of a line at the end of its log file. The
// next process's log emitter appends to the same file: without a newline first, its first line was
// glued to the torn one, and `verify` skipped the merged line and reported that event missing.
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { logEvents, type SourceTally } from "../../src/cli/verify-sources.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEYS, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { tempDir } from "../cli/helpers.js";

/** Records `count` mutations with a chain into the log at `path`, closing the Recorder (sealed). */
async function recordInto(path: string, count: number, sync: boolean): Promise<void> {
  const recorder = createRecorder({
    service: "projects",
    emitters: [createLogEmitter({ destination: path, sync })],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
  });
  recordMutations(recorder, count);
  expect((await recorder.close()).ok).toBe(true);
}

async function verifyLog(path: string) {
  const tally: SourceTally = { unreadable: [], skippedLines: 0 };
  const report = await verifyChains(logEvents(path, "audit", tally), { publicKeys: PUBLIC_KEYS });
  return { report, tally };
}

it.each([true, false])(
  "a log whose last line was torn by a crash: the next process's events all verify (sync %s)",
  async (sync) => {
    const path = join(tempDir(), "audit.ndjson");
    await recordInto(path, 3, sync);
    const whole = readFileSync(path, "utf8");
    truncateSync(path, whole.length - 40); // the final checkpoint's line cut in the middle
    await recordInto(path, 4, sync);

    const { report, tally } = await verifyLog(path);
    expect(tally).toStrictEqual({ unreadable: [], skippedLines: 1 }); // the torn line alone
    const [crashed, next] = report.chains;
    // The crashed process's chain lost its final checkpoint: open, nothing else wrong.
    expect([crashed?.events, crashed?.sealed, crashed?.findings]).toStrictEqual([3, false, []]);
    // The next process's chain is whole: 4 mutations and its final checkpoint, from seq 1.
    expect([next?.events, next?.firstSeq, next?.sealed, next?.findings]).toStrictEqual([5, 1, true, []]);
  },
);

it("leaves a log that ends with a newline as it is", async () => {
  const path = join(tempDir(), "audit.ndjson");
  writeFileSync(path, "not an event\n");
  await recordInto(path, 1, true);
  expect(readFileSync(path, "utf8")).toMatch(/^not an event\n\{/);
});
