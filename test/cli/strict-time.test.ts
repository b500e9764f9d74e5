import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

/** Events at the end of February and the start of March 2026, where a lax parser rolls 02-30 over. */
const TIMES = [
  "2026-02-27T12:00:00Z",
  "2026-03-01T12:00:00Z",
  "2026-03-03T12:00:00Z",
  "2026-03-04T00:30:00Z",
];

describe.concurrent("CLI times are parsed strictly", () => {
  let db: string;

  beforeAll(async () => {
    db = join(tempDir(), "audit.db");
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "s", emitters: [memory] });
    for (const time of TIMES) {
      recorder.recordAuthnResult({
        method: "jwt",
        success: true,
        actor: { id: "a" },
        occurredAt: new Date(time),
      });
    }
    const store = openAuditStore({ path: db });
    store.insert(memory.events);
    store.close();
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);

  const total = () => {
    const store = openAuditStore({ path: db, readonly: true });
    const { total } = store.stats();
    store.close();
    return total;
  };

  it.each([
    ["2026-02-30", "There is no day 30 in 2026-02: it has 28 days."],
    ["2026-02-31T00:00:00Z", "There is no day 31 in 2026-02: it has 28 days."],
    ["2026-13-01", "There is no month 13: use 01 to 12."],
    ["2026-03-03T24:61", "The hour 24 is out of range: use 00 to 23."],
    ["2026-03-03T23:61", "The minute 61 is out of range: use 00 to 59."],
    ["2026-03-03T24:00", "The hour 24 is out of range: use 00 to 23."],
  ])(
    "prune --before %s is exit 2, naming the option and the problem, and deletes nothing",
    async (time, problem) => {
      for (const dryRun of [[], ["--dry-run"]]) {
        const run = await runCli(["prune", "--db", db, "--before", time, ...dryRun]);
        expect(run).toStrictEqual({
          code: 2,
          stdout: "",
          stderr: `error: option '--before <time>' argument '${time}' is invalid. ${problem}\n`,
        });
      }
      expect(total()).toBe(TIMES.length);
    },
  );

  it("prune --before a time in the future is exit 2 and deletes nothing (it would delete events still being written)", async () => {
    const future = new Date(Date.now() + 86_400_000).toISOString();
    for (const dryRun of [[], ["--dry-run"]]) {
      const run = await runCli(["prune", "--db", db, "--before", future, ...dryRun]);
      expect(run).toStrictEqual({
        code: 2,
        stdout: "",
        stderr: `error: option '--before <time>' is ${future}, in the future: prune deletes every event before it, so give a past time\n`,
      });
    }
    expect(total()).toBe(TIMES.length);
  });

  it.each([
    ["query", "--from"],
    ["query", "--to"],
    ["stats", "--from"],
    ["stats", "--to"],
  ])("%s %s 2026-02-30 is exit 2, naming the option", async (command, option) => {
    const run = await runCli([command, "--db", db, option, "2026-02-30"]);
    expect(run).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: `error: option '${option} <time>' argument '2026-02-30' is invalid. There is no day 30 in 2026-02: it has 28 days.\n`,
    });
  });

  it("a valid day still prunes exactly what is before it", async () => {
    const dry = await runCli(["prune", "--db", db, "--before", "2026-02-28", "--dry-run"]);
    expect(dry.stdout).toBe(
      "1 event would be deleted (occurred before 2026-02-28T00:00:00.000Z)\n" +
        "1 chain without checkpoints cut by time: verify reports their deleted seqs as missing from seq 1\n",
    );
    const march = await runCli(["query", "--db", db, "--from", "2026-03-01", "--to", "2026-03-04", "--json"]);
    expect(JSON.parse(march.stdout).events.map((e: { occurredAt: string }) => e.occurredAt)).toStrictEqual([
      "2026-03-03T12:00:00.000Z",
      "2026-03-01T12:00:00.000Z",
    ]);
  });
});
