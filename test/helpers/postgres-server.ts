/**
 * A real PostgreSQL server for tests (Debian's `postgresql-15` package; `.ci/run` installs it). Without
 * it, `startPostgresServer()` rejects with `initdb not found: apt-get install -y postgresql-15`.
 *
 * `startPostgresServer()` runs `initdb` into a fresh temporary folder and starts `postgres` on a free
 * loopback port (its unix socket in that folder), never as a system service, and resolves once it
 * answers a query. PostgreSQL refuses to run as root: under uid 0 both run as the `postgres` user, and
 * the folder is given to it. Durability is off (fsync, full page writes): a test server never has to
 * survive a power cut, and it starts and writes faster. `createDatabase()` makes a fresh, empty database
 * for a test that needs isolation; `stop()` shuts the server down (SIGINT: fast shutdown) and deletes
 * the folder. One server per test file (beforeAll/afterAll).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "./free-port.js";
import { requireTool } from "./prerequisites.js";

/**
 * Settings of a durable server, as a production one runs (the helper turns durability off for speed):
 * what the benchmarks measure with.
 */
export const DURABLE_SETTINGS: Readonly<Record<string, string>> = {
  fsync: "on",
  full_page_writes: "on",
  synchronous_commit: "on",
  shared_buffers: "256MB",
  max_wal_size: "2GB",
};

export interface PostgresServerOptions {
  /** Where to look for `initdb` and `postgres` (a PATH value). Default: PATH and Debian's /usr/lib/postgresql/15/bin. */
  searchPath?: string;
  /**
   * Server settings (`-c name=value`) over the helper's: the benchmarks turn durability back on with
   * `DURABLE_SETTINGS`. Default: none.
   */
  settings?: Record<string, string>;
  /**
   * The folder (`dir`) of a server that no longer runs: starts on its data directory again, as a server
   * restarts after a crash (replaying its WAL), instead of a fresh `initdb`. Default: a new folder.
   */
  dir?: string;
}

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication: no password). */
  readonly url: string;
  readonly port: number;
  /** The temporary folder holding the data directory and the unix socket. */
  readonly dir: string;
  /** The server's process id. */
  readonly pid: number;
  /** True while the process runs. */
  readonly running: boolean;
  /** Creates an empty database with a new name and resolves to its connection string. */
  createDatabase(): Promise<string>;
  /** Shuts the server down (SIGINT, then SIGKILL after 10 s), resolves once it exited, and deletes `dir`. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const BIN_DIR = "/usr/lib/postgresql/15/bin";

/** The uid and gid of the `postgres` user when this process is root (PostgreSQL refuses root). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) =>
    Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) {
    throw new Error("running as root, and there is no `postgres` user to run PostgreSQL as");
  }
  return { uid, gid };
}

/** Starts PostgreSQL on a free loopback port; see the module comment. */
export async function startPostgresServer(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const searchPath = options.searchPath ?? `${process.env.PATH ?? ""}${path.delimiter}${BIN_DIR}`;
  const initdb = requireTool("initdb", searchPath);
  const postgres = requireTool("postgres", searchPath);
  const user = serverUser();
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-pg-"));
  const data = path.join(dir, "data");
  if (options.dir === undefined) {
    if (user !== undefined) fs.chownSync(dir, user.uid, user.gid);
    const init = spawnSync(
      initdb,
      ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8", "--locale=C"],
      { encoding: "utf8", ...user },
    );
    if (init.status !== 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed (${init.error?.message ?? init.status}):\n${init.stderr}`);
    }
  }
  const port = await freePort();
  const settings = {
    listen_addresses: "127.0.0.1",
    port: String(port),
    unix_socket_directories: dir,
    fsync: "off",
    full_page_writes: "off",
    synchronous_commit: "off",
    shared_buffers: "128MB",
    max_connections: "50",
    ...options.settings,
  };
  const args = ["-D", data, ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
  const child = spawn(postgres, args, { stdio: ["ignore", "ignore", "pipe"], ...user });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitUntilReady(child, url);
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let databases = 0;
  return {
    url,
    port,
    dir,
    pid: child.pid ?? 0,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    async createDatabase() {
      const name = `test_${++databases}`;
      await withClient(url, (client) => client.query(`CREATE DATABASE ${name}`));
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        const forced = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.kill("SIGINT");
        await exited;
        clearTimeout(forced);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Makes `role` a login role with exactly the GRANTs docs/postgres.md gives least-privileged writers,
 * on the database at `url` (whose tables exist); returns the URL as that role. Roles belong to the
 * server, not to one database: give each a name of its own.
 */
export async function writerRoleUrl(url: string, role: string): Promise<string> {
  await withClient(url, (c) =>
    c.query(`CREATE ROLE ${role} LOGIN;
      GRANT SELECT, INSERT ON audit_events, audit_schema_version TO ${role};
      GRANT USAGE ON SEQUENCE audit_events_seq_seq TO ${role};`),
  );
  return url.replace("postgres@", `${role}@`);
}

/** Runs `use` with a connected client to `url`, then ends the client. */
export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {}); // a server shutting down ends the connection; the query says why
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Resolves once the server answers `select 1`; rejects (and kills it) if it exits or never answers. */
async function waitUntilReady(proc: ChildProcess, url: string): Promise<void> {
  let stderr = "";
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  const failed = new Promise<never>((_, reject) => {
    proc.once("error", (error) => reject(new Error(`postgres could not start: ${error.message}`)));
    proc.once("exit", (code, signal) =>
      reject(new Error(`postgres exited (${signal ?? code}) before it was ready:\n${stderr}`)),
    );
  });
  failed.catch(() => {});
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const answered = withClient(url, (client) => client.query("select 1")).then(
      () => true,
      () => false,
    );
    if (await Promise.race([answered, failed])) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  proc.kill("SIGKILL");
  throw new Error(`postgres did not answer on ${url} within ${READY_TIMEOUT_MS} ms:\n${stderr}`);
}
