/**
 * The processes and files of the canary fuzz: the server child, the compiled `grpc-audit` command, and
 * the files an output lives in, each read as raw bytes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChildConfig } from "./vault-child.js";

/** What a process printed, chunk by chunk. */
export interface Printed {
  stdout: Buffer[];
  stderr: Buffer[];
}

/** Starts the compiled server child with `config` (written to `dir`): what it prints, its port, its exit. */
export function startChild(childFile: string, dir: string, config: ChildConfig) {
  const file = join(dir, "config.json");
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [childFile, file], { stdio: ["pipe", "pipe", "pipe"] });
  const out = collect(child);
  const exited = once(child, "exit");
  const text = () => Buffer.concat(out.stdout).toString("utf8");
  const port = new Promise<number>((resolve, reject) => {
    child.stdout.on("data", () => {
      const ready = /^ready (\d+)$/m.exec(text());
      if (ready) resolve(Number(ready[1]));
    });
    child.once("exit", () => reject(new Error(`child exited: ${Buffer.concat(out.stderr).toString()}`)));
  });
  return { child, out, exited, port, text };
}

/** Runs the compiled CLI; resolves to what it printed and its exit code. */
export async function runCli(
  cliFile: string,
  args: readonly string[],
): Promise<{ stdout: Buffer; stderr: Buffer; code: number | null }> {
  const child = spawn(process.execPath, [cliFile, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const { stdout, stderr } = collect(child);
  const [code] = await once(child, "exit");
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), code: code as number | null };
}

/** `grpc-audit tail --from-start` (table) until it printed `lines` lines, then interrupted (Ctrl-C). */
export async function tailTable(
  cliFile: string,
  db: string,
  lines: number,
): Promise<{ stdout: Buffer; stderr: Buffer }> {
  const args = [cliFile, "tail", "--from-start", "--db", db, "--interval-ms", "50"];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const { stdout, stderr } = collect(child);
  const exited = once(child, "exit");
  await new Promise<void>((resolve) => {
    child.stdout?.on("data", () => {
      if (Buffer.concat(stdout).toString("utf8").split("\n").length > lines) resolve();
    });
    child.once("exit", () => resolve());
  });
  child.kill("SIGINT");
  await exited;
  return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
}

function collect(child: ChildProcess): Printed {
  const out: Printed = { stdout: [], stderr: [] };
  child.stdout?.on("data", (chunk: Buffer) => out.stdout.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => out.stderr.push(chunk));
  return out;
}

/** Every file below `dir`, by path. */
export function filesUnder(dir: string): [string, Buffer][] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .map((file) => [file, readFileSync(file)]);
}

/** A SQLite file and those of its companions (-wal, -shm) that exist, by path. */
export function sqliteFiles(path: string): [string, Buffer][] {
  return [path, `${path}-wal`, `${path}-shm`].filter(existsSync).map((file) => [file, readFileSync(file)]);
}
