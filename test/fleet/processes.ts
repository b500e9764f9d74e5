/** The child processes of the fleet test: server replicas (compiled server-child.ts) and ingesters. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCli } from "../cli/helpers.js";
import type { ServerChildConfig } from "./server-child.js";

/** What a child printed so far, and its exit. */
function watch(child: ChildProcess) {
  const out = { stdout: "", stderr: "" };
  child.stdout?.on("data", (chunk: Buffer) => {
    out.stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    out.stderr += chunk.toString();
  });
  const exited = once(child, "close").then(([code, signal]) => ({ code, signal }));
  return { child, out, exited };
}

/** Resolves to the first match of `pattern` in the child's stdout; rejects if it exits first. */
function printed(run: ReturnType<typeof watch>, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(run.out.stdout);
      if (match) resolve(match);
    };
    run.child.stdout?.on("data", check);
    check();
    void run.exited.then(() => reject(new Error(`child exited early; stderr:\n${run.out.stderr}`)));
  });
}

/** One server replica: its gRPC port, and `close()` resolving to its ids and its close report. */
export interface ServerReplica {
  child: ChildProcess;
  port: number;
  /** Shuts it down; resolves to every event id its Recorder handed over (with kind) and its report. */
  close(): Promise<{ events: { id: string; kind: string }[]; report: ServerReport }>;
}

/** What a replica prints when it closed: the Recorder's close report and its broker emitter's stats. */
export interface ServerReport {
  closed: { ok: boolean };
  broker: {
    accepted: number;
    delivered: number;
    retried: number;
    spooled: number;
    dropped: Record<string, number>;
  };
}

/** Starts a compiled server child with `config` (written into `dir` as `<name>.json`). */
export async function startReplica(
  childFile: string,
  dir: string,
  name: string,
  config: ServerChildConfig,
): Promise<ServerReplica> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const run = watch(spawn(process.execPath, [childFile, file], { stdio: ["pipe", "pipe", "pipe"] }));
  const [, port] = await printed(run, /^ready (\d+)$/m);
  return {
    child: run.child,
    port: Number(port),
    async close() {
      run.child.stdin?.write("close\n");
      const [, report] = await printed(run, /^closed (.*)$/m);
      await run.exited;
      const events = readFileSync(config.idsPath, "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => {
          const [id = "", kind = ""] = line.split(" ");
          return { id, kind };
        });
      return { events, report: JSON.parse(report ?? "{}") as ServerReport };
    },
  };
}

/** A running `grpc-audit ingest` from `natsUrl`'s `stream` into `to`, sharing the consumer "fleet". */
export function startIngester(natsUrl: string, stream: string, to: string) {
  return watch(
    startCli([
      "ingest",
      "--from",
      natsUrl,
      "--stream",
      stream,
      "--consumer",
      "fleet",
      "--to",
      to,
      "--batch-size",
      "100",
      "--ack-wait-ms",
      "2000",
    ]),
  );
}

/** Ends `child` with SIGKILL unless it already exited (clean-up after a failure). */
export function killIfRunning(child: ChildProcess | undefined): void {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
