import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

/**
 * Characters that are not format characters (Cf) but that Unicode says to draw as nothing
 * (Default_Ignorable_Code_Point): the combining grapheme joiner, a variation selector, a Hangul filler.
 * Printed raw, this actor reads as "alice".
 */
const ACTOR = "al\u034fi\ufe0fc\u115fe";
const IGNORABLE = /\p{Default_Ignorable_Code_Point}/u;

describe("default-ignorable characters in stored text are printed visibly; JSON stays exact", () => {
  let db: string;

  beforeAll(async () => {
    db = join(tempDir(), "ignorable.db");
    const memory = createMemoryEmitter();
    const recorder = createRecorder({ service: "projects", emitters: [memory] });
    recorder.recordResourceMutation({
      actor: { id: ACTOR },
      mutation: "delete",
      resourceType: "project",
      resourceId: "p-1",
    });
    const store = openAuditStore({ path: db });
    store.insert([...memory.events]);
    store.close();
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);

  it("query writes each as an escape", async () => {
    const run = await runCli(["query", "--db", db]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout).toContain(String.raw` al\u034fi\ufe0fc\u115fe `);
    expect(run.stdout).not.toMatch(IGNORABLE);
  });

  it("query --json writes each as a \\u escape of the exact stored string", async () => {
    const run = await runCli(["query", "--db", db, "--json"]);
    expect([run.code, run.stderr]).toStrictEqual([0, ""]);
    expect(run.stdout).toContain(String.raw`"al\u034fi\ufe0fc\u115fe"`);
    expect(run.stdout).not.toMatch(IGNORABLE);
    expect(JSON.parse(run.stdout).events[0].actor.id).toBe(ACTOR);
  });
});
