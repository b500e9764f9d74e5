import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, seedEvents, tailCli as tail, tempDir } from "./helpers.js";

describe("grpc-audit tail", () => {
  let db: string;
  let store: AuditStore;
  let earlier: AuditEvent[];
  let later: AuditEvent[];

  beforeAll(async () => {
    db = join(tempDir(), "audit.db");
    store = openAuditStore({ path: db });
    const events = seedEvents(8);
    earlier = events.slice(0, 3);
    later = events.slice(3);
    store.insert(earlier);
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);
  afterAll(() => store.close());

  it("--json prints the events stored while it runs, one JSON line each, and exits 0 on SIGINT", async () => {
    const run = tail(["--db", db, "--json"]);
    await run.ready();
    store.insert(later.slice(0, 2));
    await sleep(150);
    store.insert(later.slice(2));
    await run.until(() => run.lines().length >= later.length, `${later.length} lines`);
    expect(await run.interrupt()).toBe(0);
    expect(run.lines().map((line) => JSON.parse(line))).toStrictEqual(later.map(eventToJson));
  });

  it("--from-start prints the stored events first, oldest first", async () => {
    const run = tail(["--db", db, "--json", "--from-start"]);
    await run.until(() => run.lines().length >= earlier.length + later.length, "every stored event");
    expect(await run.interrupt()).toBe(0);
    expect(run.lines().map((line) => JSON.parse(line).eventId)).toStrictEqual(
      [...earlier, ...later].map((e) => e.eventId),
    );
  });

  it("prints table lines by default", async () => {
    const run = tail(["--db", db]);
    await run.ready();
    const [event] = seedEvents(1);
    if (event === undefined) throw new Error("no event");
    store.insert([event]);
    await run.until(() => run.lines().length >= 3, "a row");
    expect(await run.interrupt()).toBe(0);
    const [header, rule, row] = run.lines();
    expect(header).toMatch(/^time {22}kind {15}actor\s+operation\s+target\s+result\s+detail$/);
    expect(rule).toMatch(/^-{24} {2}-{17}/);
    expect(row).toMatch(
      new RegExp(
        `^${event.occurredAt?.toISOString()}  authn\\.result\\s+${event.actor?.id}\\s+CreateProject\\s+FAIL PERMISSION_DENIED\\s+jwt accepted$`,
      ),
    );
  });
});
