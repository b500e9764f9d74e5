// The test helper's PostgreSQL: a real server started from initdb into a temporary folder, on a
// loopback port, that answers queries and leaves no process and no folder behind once stopped.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { startPostgresServer, withClient } from "../helpers/postgres-server.js";

/** True while a process with this id exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startPostgresServer", () => {
  it("starts a server that answers select 1, gives fresh databases, and stops leaving nothing behind", async () => {
    const server = await startPostgresServer();
    try {
      expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
      const one = await withClient(server.url, (c) => c.query<{ one: number }>("select 1 as one"));
      expect(one.rows).toEqual([{ one: 1 }]);
      const url = await server.createDatabase();
      const name = await withClient(url, (c) => c.query<{ db: string }>("select current_database() db"));
      expect(url.endsWith(`/${name.rows[0]?.db}`)).toBe(true);
      expect(await server.createDatabase()).not.toBe(url);
      expect(alive(server.pid)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(server.running).toBe(false);
    expect(alive(server.pid)).toBe(false);
    expect(fs.existsSync(server.dir)).toBe(false);
    await expect(withClient(server.url, (c) => c.query("select 1"))).rejects.toThrow();
  });
});
