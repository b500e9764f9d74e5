/**
 * The sequence of review R69: a signed Recorder that is still open has stored only events older than
 * a prune's cutoff (1,200 mutations: seqs 1-1202, checkpoints at 501 and 1002, no final one yet); then
 * it records 100 more after the cutoff and closes. Run by the SQLite and PostgreSQL tests through the
 * `grpc-audit` command, as an operator would.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEY, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { runCli, tempDir } from "../cli/helpers.js";

export const CUTOFF = "2026-12-01T00:00:00.000Z";
const CUTOFF_MS = Date.parse(CUTOFF);

/** A signed Recorder whose clock starts an hour before the cutoff and ticks a millisecond a reading. */
export function openChainWriter() {
  const memory = createMemoryEmitter();
  let clock = CUTOFF_MS - 3_600_000;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(clock++),
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 500 },
  });
  const take = () => {
    const events = [...memory.events];
    memory.clear();
    return events;
  };
  return {
    /** Records `count` mutations from `atMs` on; returns the events recorded (checkpoints included). */
    record(count: number, atMs: number): AuditEvent[] {
      clock = atMs;
      recordMutations(recorder, count);
      return take();
    },
    /** Closes the Recorder; returns its last events (the final checkpoint). */
    async close(): Promise<AuditEvent[]> {
      await recorder.close();
      return take();
    },
  };
}

/** `grpc-audit prune --before CUTOFF --json` (with `--dry-run`), its report as printed. */
export async function pruneJson(db: string, dryRun: boolean): Promise<unknown> {
  const run = await runCli([
    "prune",
    "--db",
    db,
    "--before",
    CUTOFF,
    "--json",
    ...(dryRun ? ["--dry-run"] : []),
  ]);
  if (run.code !== 0 || run.stderr !== "") throw new Error(`prune: exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** `grpc-audit verify --sealed` with the signing key, as JSON and as text. */
export async function verifySealed(db: string) {
  const keyFile = join(tempDir(), "key.pub.pem");
  writeFileSync(keyFile, PUBLIC_KEY.export({ type: "spki", format: "pem" }));
  const args = ["verify", "--db", db, "--public-key", `${KEY_ID}=${keyFile}`, "--sealed"];
  const [json, text] = await Promise.all([runCli([...args, "--json"]), runCli(args)]);
  return { code: json.code, report: JSON.parse(json.stdout), textCode: text.code, text: text.stdout };
}
