// `grpc-audit query --all` as a table prints each page as it is read, as the JSON modes do, holding one
// page in memory (it held every row to size the columns: ~2.5 KB per event, out of memory past two
// million, review R132). The columns fit the first page; a later row that needs more widens its column
// from that row on.
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { sampleEvent } from "../helpers/events.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "./helpers.js";

let db: string;
const LONG_ACTOR = "a-much-longer-actor-name";

beforeAll(async () => {
  db = join(tempDir(), "audit.db");
  const store = openAuditStore({ path: db });
  // Newest first: the first page (--limit 2) holds the two short actors, the second the long one.
  const actors = [LONG_ACTOR, "bo", "al"];
  store.insert(
    actors.map((id, i) => {
      const event = sampleEvent({ eventId: `e-${i}`, occurredAt: new Date(Date.UTC(2026, 0, 1, 0, i)) });
      if (event.actor !== undefined) event.actor = { ...event.actor, id };
      return event;
    }),
  );
  store.close();
  await ensureBuilt();
}, BUILD_TIMEOUT_MS);

it("sizes the columns by the first page and widens one for a later row that needs more", async () => {
  const run = await runCli(["query", "--db", db, "--all", "--limit", "2"]);
  expect([run.code, run.stderr]).toStrictEqual([0, ""]);
  const lines = run.stdout.split("\n");
  // header, rule, three rows, the count, and the end of the last line
  expect(lines).toHaveLength(7);
  const operationAt = (line: string | undefined) => line?.indexOf("UpdateProject");
  const header = lines[0] ?? "";
  const actorStart = header.indexOf("actor");
  const afterActor = header.indexOf("operation");
  // The first page's columns: "actor" is wider than its actors, and the operation follows it.
  expect(afterActor - actorStart).toBe("actor".length + 2);
  expect([operationAt(lines[2]), operationAt(lines[3])]).toStrictEqual([afterActor, afterActor]);
  // The long actor's row widens the column: its operation starts after the actor and two spaces.
  expect(lines[4]?.slice(actorStart, actorStart + LONG_ACTOR.length)).toBe(LONG_ACTOR);
  expect(operationAt(lines[4])).toBe(actorStart + LONG_ACTOR.length + 2);
  expect(lines[5]).toBe("(3 events)");
});
