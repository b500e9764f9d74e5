// `grpc-audit verify --log` names the line of each chain finding's event, as it names the line of an
// unreadable one: a finding from a log of thousands of lines is found with an editor, not with grep.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { VERIFY_EXIT_CODES } from "../../src/cli/commands/verify.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEY, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

let dir: string;
let lines: string[];
let keyArg: string;

beforeAll(async () => {
  dir = tempDir();
  const path = join(dir, "base.ndjson");
  const keyFile = join(dir, "key.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  keyArg = `${KEY_ID}=${keyFile}`;
  const recorder = createRecorder({
    service: "projects",
    emitters: [createLogEmitter({ destination: path, sync: true })],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
  });
  recordMutations(recorder, 4);
  expect((await recorder.close()).ok).toBe(true);
  lines = readFileSync(path, "utf8").trimEnd().split("\n");
  await ensureBuilt();
}, BUILD_TIMEOUT_MS);

it("names the line of an edited event's finding, in the text and the JSON report", async () => {
  const edited = JSON.parse(lines[2] as string) as { audit: { eventId: string; target: { id: string } } };
  edited.audit.target.id = "p-FORGED";
  const path = join(dir, "edited.ndjson");
  // Another program's line first, so that line numbers are not seqs.
  writeFileSync(
    path,
    `starting\n${[...lines.slice(0, 2), JSON.stringify(edited), ...lines.slice(3)].join("\n")}\n`,
  );
  const run = await runCli(["verify", "--log", path, "--public-key", keyArg]);
  expect(run.stdout).toContain(
    `modified      seq 3 event ${edited.audit.eventId} (line 4): the event does not match its hash\n`,
  );
  expect(run.stdout).toContain("(1 log line without an event)");
  expect(run.code).toBe(VERIFY_EXIT_CODES.modified);
  const json = await runCli(["verify", "--log", path, "--public-key", keyArg, "--json"]);
  const report = JSON.parse(json.stdout) as { chains: { findings: { seq: number; line?: number }[] }[] };
  expect(report.chains[0]?.findings.map((f) => [f.seq, f.line])).toStrictEqual([[3, 4]]);
});
