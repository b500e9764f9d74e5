// `verify --sealed` without the `--public-key` of a closed trail: its final checkpoint is there, but
// cannot be verified. The report says so, instead of a chain "without a final checkpoint" and "open".
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEY, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

let dir: string;
let log: string;
let keyFile: string;

beforeAll(async () => {
  dir = tempDir();
  log = join(dir, "audit.ndjson");
  keyFile = join(dir, `${KEY_ID}.pub.pem`);
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  // 7 mutations and 3 checkpoints: 10 events, the last (seq 10) the final checkpoint.
  const recorder = createRecorder({
    service: "projects",
    emitters: [createLogEmitter({ destination: log, sync: true })],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 3 },
  });
  recordMutations(recorder, 7);
  expect((await recorder.close()).ok).toBe(true);
  await ensureBuilt();
}, BUILD_TIMEOUT_MS);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("verify --sealed of a closed trail", () => {
  it("without --public-key: its final checkpoint could not be verified (exit 4)", async () => {
    const run = await runCli(["verify", "--log", log, "--sealed"]);
    const lines = run.stdout.split("\n");
    expect(run.code).toBe(4);
    expect(lines[0]).toMatch(
      /^chain [0-9a-f-]+ \(projects\): 10 events, seq 1-10, 3 checkpoints \(0 verified\), not sealed: the checkpoint it ends in \(seq 10\) was not verified$/,
    );
    expect(lines.filter((line) => line.startsWith("  truncated"))).toStrictEqual([
      expect.stringMatching(
        / \(line 10\): the chain ends at seq 10 in a final checkpoint that could not be verified: no public key was given for key id audit-test$/,
      ),
    ]);
    expect(run.stdout).not.toContain("without a final checkpoint");
  });

  it("with --public-key: sealed (exit 0)", async () => {
    const run = await runCli(["verify", "--log", log, "--sealed", "--public-key", `${KEY_ID}=${keyFile}`]);
    expect([run.code, run.stdout.split("\n")[0]]).toStrictEqual([
      0,
      expect.stringMatching(/ 10 events, seq 1-10, 3 checkpoints \(3 verified\), sealed$/),
    ]);
  });
});
