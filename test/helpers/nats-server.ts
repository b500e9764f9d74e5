/**
 * A real `nats-server -js` for tests (Debian's `nats-server` package; `.ci/run` installs it). Without
 * it, `startNatsServer()` rejects with `nats-server not found: apt-get install -y nats-server`.
 *
 * `startNatsServer()` runs it on a free loopback port with JetStream storing into a fresh temporary
 * directory and resolves once it accepts connections. `kill()` ends it with SIGKILL (no clean shutdown,
 * as a crash would) and `restart()` starts it again on the same port and store directory, so clients
 * reconnect to the same address and find the streams it had written. `stop()` ends it and deletes the store.
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./free-port.js";
import { requireTool } from "./prerequisites.js";

export interface NatsServerOptions {
  /** Largest message (payload and headers) the server accepts, in bytes. Default: the server's 1 MiB. */
  maxPayloadBytes?: number;
  /** Where to look for `nats-server` (a PATH value). Default: PATH and /usr/sbin, where Debian installs it. */
  searchPath?: string;
  /** More lines of the server's configuration file (e.g. a `tls` or `authorization` block). Default: none. */
  config?: string;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** JetStream store directory (`-sd`), kept across kill and restart. */
  readonly storeDir: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Ends the server with SIGKILL and resolves once the process has exited. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and store directory; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Stops the process (SIGSTOP) for `ms`, then lets it go on (SIGCONT), as a starved host would; resolves after. */
  pause(ms: number): Promise<void>;
  /** Ends the server (SIGTERM, then SIGKILL after 5 s) and deletes its store directory. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;

/** Starts `nats-server -js` on a free loopback port; see the module comment. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  // A non-root PATH may lack /usr/sbin.
  const bin = requireTool("nats-server", options.searchPath ?? `${process.env.PATH ?? ""}:/usr/sbin`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-nats-"));
  const storeDir = path.join(dir, "store");
  const configFile = path.join(dir, "nats.conf");
  const config = options.maxPayloadBytes === undefined ? "" : `max_payload: ${options.maxPayloadBytes}\n`;
  fs.writeFileSync(configFile, `${config}${options.config ?? ""}\n`);
  const port = await freePort();
  const args = ["-c", configFile, "-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", String(port)];
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const started = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    child = started;
    await waitUntilReady(started, port);
  };
  const exited = (proc: ChildProcess): Promise<void> =>
    proc.exitCode !== null || proc.signalCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => proc.once("exit", () => resolve()));

  await launch();
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      if (child === undefined) return;
      const proc = child;
      proc.kill("SIGKILL");
      await exited(proc);
    },
    async restart() {
      if (server.running) throw new Error("nats-server is still running: kill() it first");
      await launch();
    },
    async pause(ms) {
      const proc = child;
      if (proc === undefined || !server.running) throw new Error("nats-server is not running");
      proc.kill("SIGSTOP");
      await new Promise((resolve) => setTimeout(resolve, ms));
      proc.kill("SIGCONT");
    },
    async stop() {
      const proc = child;
      if (proc !== undefined) {
        const forced = setTimeout(() => proc.kill("SIGKILL"), 5000);
        proc.kill("SIGTERM");
        await exited(proc);
        clearTimeout(forced);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Resolves once the server sends its INFO line to a new connection; rejects if it exits first. */
async function waitUntilReady(proc: ChildProcess, port: number): Promise<void> {
  let stderr = "";
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  const failed = new Promise<never>((_, reject) => {
    proc.once("error", (error) => reject(new Error(`nats-server could not start: ${error.message}`)));
    proc.once("exit", (code, signal) =>
      reject(new Error(`nats-server exited (${signal ?? code}) before it was ready:\n${stderr}`)),
    );
  });
  failed.catch(() => {});
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await Promise.race([sendsInfo(port), failed])) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  proc.kill("SIGKILL");
  throw new Error(`nats-server did not accept connections on port ${port} within ${READY_TIMEOUT_MS} ms`);
}

function sendsInfo(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("data", (data) => done(data.toString("utf8").startsWith("INFO ")));
  });
}
