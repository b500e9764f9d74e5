/**
 * The real `grpc-audit ui` over a SQLite file deleted or replaced while it runs. SQLite reads on in the
 * file it opened, while the chains' check opens the path again: each read and each verification must
 * answer an error that says so, never the old file's events nor a `modified` finding.
 */
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { buildViewer, startViewer, type Viewer } from "./viewer.js";

beforeAll(buildViewer, BUILD_TIMEOUT_MS);

/** A store at `path` holding one event of actor `actorId`. */
function storeOf(path: string, actorId: string): string {
  const store = openAuditStore({ path });
  const event = sampleEvent({ kind: "resourceMutation", chain: undefined });
  store.insert([{ ...event, actor: { ...(event.actor as NonNullable<typeof event.actor>), id: actorId } }]);
  store.close();
  return path;
}

async function get(viewer: Viewer, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(path, viewer.url));
  return { status: response.status, body: await response.json() };
}

const gone = (db: string) =>
  `audit store ${db}: the file was removed or replaced since the viewer opened it; restart \`grpc-audit ui\` to view the file now at that path`;

it.each([
  ["replaced by another store (mv new.db d.db)", (db: string) => renameSync(storeOf(`${db}.new`, "bob"), db)],
  ["deleted", (db: string) => rmSync(db)],
])("answers 500 naming the file to every read and verification once it is %s", async (_, change) => {
  const db = storeOf(join(tempDir(), "d.db"), "alice");
  const viewer = await startViewer(["--db", db]);
  try {
    expect(await get(viewer, "/api/events")).toMatchObject({
      status: 200,
      body: { events: [{ actor: { id: "alice" } }] },
    });
    expect(await get(viewer, "/api/verify")).toMatchObject({ status: 200, body: { unreadable: [] } });
    change(db);
    for (const path of ["/api/events", "/api/stats", "/api/verify"]) {
      expect([path, await get(viewer, path)]).toEqual([
        path,
        { status: 500, body: { error: `cannot read the store: ${gone(db)}` } },
      ]);
    }
  } finally {
    expect(await viewer.stop()).toBe(0);
  }
  expect(viewer.stderr()).toBe(`error: ${gone(db)}\n`.repeat(3));
});
