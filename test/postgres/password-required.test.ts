// A server that asks for a password (scram-sha-256) and a URL without one (the CLI's own example
// form, no PGPASSWORD): pg fails on the client's side ("SASL: … client password must be a string")
// without closing its socket, and the server keeps the connection until its authentication timeout
// (60 s), holding the process up that long. Opening the store rejects saying what is missing and
// leaves no socket behind.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { type PostgresServer, startPostgresServer, withClient } from "../helpers/postgres-server.js";

const PASSWORD = "s3cret-pw";
let server: PostgresServer;
let hbaDir: string;
let savedPassword: string | undefined;

beforeAll(async () => {
  // The helper's server trusts every login; this one trusts only `postgres` (the helper's own checks)
  // and asks `audit` for its password. The file is read by the server's user (postgres under root).
  hbaDir = mkdtempSync(join(tmpdir(), "grpc-audit-hba-"));
  chmodSync(hbaDir, 0o755);
  const hba = join(hbaDir, "pg_hba.conf");
  writeFileSync(
    hba,
    "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all audit 127.0.0.1/32 scram-sha-256\n",
  );
  chmodSync(hba, 0o644);
  server = await startPostgresServer({ settings: { hba_file: hba } });
  await withClient(server.url, (c) => c.query(`CREATE ROLE audit LOGIN SUPERUSER PASSWORD '${PASSWORD}'`));
  // No password may come from the environment: the case is a URL and an environment without one.
  savedPassword = process.env.PGPASSWORD;
  delete process.env.PGPASSWORD;
});

afterAll(async () => {
  if (savedPassword !== undefined) process.env.PGPASSWORD = savedPassword;
  await server?.stop();
  rmSync(hbaDir, { recursive: true, force: true });
});

/** TCP sockets this process holds (the test's own connections are all closed between steps). */
const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;

describe("openPostgresStore against a server that asks for a password", () => {
  it.each([
    ["writable", false],
    ["read-only (the CLI's reads)", true],
  ])("%s, no password given: rejects saying so and leaves no connection open", async (_, readonly) => {
    const url = `postgres://audit@127.0.0.1:${server.port}/postgres`;
    const before = tcpSockets();
    const error = await openPostgresStore({ connectionString: url, readonly }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditConfigError);
    expect((error as Error).message).toBe(
      `postgres store ${url}: the server asks for a password and none was given (put it in the URL or PGPASSWORD)`,
    );
    // A socket left open would hold the process for the server's authentication timeout.
    expect(tcpSockets()).toBe(before);
  });

  it("with the password in the URL, opens (the server's setup is as meant)", async () => {
    const url = `postgres://audit:${PASSWORD}@127.0.0.1:${server.port}/postgres`;
    const store = await openPostgresStore({ connectionString: url });
    expect(store.name).toBe(`postgres://audit@127.0.0.1:${server.port}/postgres`);
    await store.close();
  });
});
