/**
 * The real `grpc-audit ui` over a SQLite file another store is copied over while it runs (`cp
 * backup.db audit.db`): the file keeps its inode, so the viewer cannot tell it from the file it
 * opened, and SQLite reads the new file's pages through the old one's cache and `-shm` index. The
 * reads that find the file damaged answer 500 with the likely cause and what to do, on the page and
 * on stderr. The counts are read on a connection of their own, opened at the first count: after the
 * copy, that one reads the copied file.
 */
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, seedEvents, tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { buildViewer, startViewer } from "./viewer.js";

beforeAll(buildViewer, BUILD_TIMEOUT_MS);

it("answers a read of the file copied over the open one with the hint to restart the viewer", async () => {
  const dir = tempDir();
  const db = join(dir, "audit.db");
  const big = openAuditStore({ path: db });
  big.insert(seedEvents(3000));
  big.close();
  const backup = openAuditStore({ path: join(dir, "backup.db") });
  backup.insert([sampleEvent()]);
  backup.close();
  const viewer = await startViewer(["--db", db]);
  try {
    expect((await fetch(`${viewer.url}api/events`)).status).toBe(200);
    const inode = statSync(db).ino;
    execFileSync("cp", [backup.path, db]);
    expect(statSync(db).ino).toBe(inode);
    const stats = await fetch(`${viewer.url}api/stats`);
    expect([stats.status, ((await stats.json()) as { total: number }).total]).toEqual([200, 1]);
    // The list reads on the viewer's own connection, which kept pages of the old file: it is led to
    // pages the smaller file no longer has.
    const events = await fetch(`${viewer.url}api/events?limit=1000`);
    expect({ status: events.status, body: await events.json() }).toStrictEqual({
      status: 500,
      body: {
        error: `cannot read the store: audit store ${db}: the database file is corrupt; if the file was overwritten in place (cp over it), restart the viewer`,
      },
    });
  } finally {
    expect(await viewer.stop()).toBe(0);
  }
  expect(viewer.stderr()).toBe(
    `error: audit store ${db}: the database file is corrupt; if the file was overwritten in place (cp over it), restart the viewer\n`,
  );
});
