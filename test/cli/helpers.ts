import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, cpSync, mkdtempSync, openSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { BUILD_TIMEOUT_MS, buildOnce, isNewerThan } from "../helpers/build-once.js";
import { until as untilHolds } from "../helpers/fake-sink.js";

export { BUILD_TIMEOUT_MS };

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The built command, as `npm install` links it. */
export const CLI = join(REPO, "dist/cli/main.js");
/**
 * Compiles src/ into dist/ unless dist/cli/main.js is newer than every file of src/. It runs the
 * compile step of `npm run build` without its `rm -rf dist`, which would pull dist/ from under the
 * tests running beside these.
 */
export function ensureBuilt(): Promise<void> {
  return buildOnce(
    "cli",
    () => isNewerThan(CLI, [join(REPO, "src")]),
    async () => {
      const tsc = join(REPO, "node_modules/.bin/tsc");
      await promisify(execFile)(tsc, ["-p", "tsconfig.build.json"], { cwd: REPO }).catch(
        (error: { code?: unknown; stdout?: string }) => {
          // Exit code 2: type errors, but every file was emitted. Reporting type errors is the
          // typecheck's job (`npm test` runs it first); these tests are about what the command does.
          if (error.code !== 2)
            throw new Error(`tsc -p tsconfig.build.json failed:\n${error.stdout ?? String(error)}`);
        },
      );
    },
  );
}

/** Builds dist/ as `ensureBuilt` does, then copies its declarations (the `.d.ts` files) into `to`. */
export async function copyBuiltDeclarations(to: string): Promise<void> {
  await ensureBuilt();
  cpSync(join(REPO, "dist"), to, {
    recursive: true,
    filter: (source) => source.endsWith(".d.ts") || statSync(source).isDirectory(),
  });
}

/** What a run of the command did. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Where the command runs: its folder, its environment, and a file for its stdout instead of a pipe. */
export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A file (`/dev/full`) the command's stdout is opened on, as a shell's `>` does. Default: a pipe. */
  stdout?: string;
}

/** Runs `node dist/cli/main.js ...args` in `cwd`, without GRPC_AUDIT_DB from the test's environment. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child =
      options.stdout === undefined
        ? startCli(args, options)
        : startCliWritingTo(options.stdout, args, options);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** Starts the command, for tests that talk to it while it runs (tail). */
export function startCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const { GRPC_AUDIT_DB: _ignored, ...env } = process.env;
  return spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: { ...env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Starts the command with its stdout opened on `file`, as a shell's `>` does; only stderr is a pipe. */
function startCliWritingTo(file: string, args: readonly string[], options: CliOptions) {
  const { GRPC_AUDIT_DB: _ignored, ...env } = process.env;
  const stdout = openSync(file, "w");
  try {
    return spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? REPO,
      env: { ...env, ...options.env },
      stdio: ["ignore", stdout, "pipe"],
    });
  } finally {
    // The child has its own copy of the descriptor.
    closeSync(stdout);
  }
}

/** A running `grpc-audit tail`, what it printed so far, and a way to wait for more. */
export function tailCli(args: readonly string[]) {
  const child = startCli(["tail", "--interval-ms", "50", ...args]);
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => {
    out.stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    out.stderr += chunk.toString();
  });
  // No deadline of its own: a slow machine fails only at the test's timeout, saying what was awaited.
  const until = (done: () => boolean, what: string) =>
    untilHolds(done, {
      message: () => `tail never printed ${what}; stdout: ${out.stdout} stderr: ${out.stderr}`,
    });
  return {
    out,
    lines: () =>
      out.stdout
        .trimEnd()
        .split("\n")
        .filter((l) => l !== ""),
    ready: () => until(() => out.stderr.includes("following"), "that it is following"),
    until,
    /** Sends SIGINT and resolves to the exit code. */
    async interrupt(): Promise<number | null> {
      const closed = once(child, "close");
      child.kill("SIGINT");
      const [code] = await closed;
      return code as number | null;
    },
  };
}

/** A new empty folder for one test's files. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "grpc-audit-cli-"));
}

/** Start of the seeded events: one every 7 minutes from here. */
export const SEED_T0 = Date.parse("2026-11-20T00:00:00.000Z");
export const SEED_ACTORS = ["alice", "bob", "carol"] as const;
export const SEED_OPERATIONS = [
  "/example.v1.ProjectService/CreateProject",
  "/example.v1.ProjectService/UpdateProject",
  "/example.v1.ProjectService/DeleteProject",
] as const;
export const SEED_SERVICES = ["projects", "billing"] as const;
/** The trace id of every third seeded event. */
export const SEED_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const DECISIONS = ["allowed", "denied", "no_rule", "error"] as const;

/**
 * `count` events of all four kinds made by the real Recorder, one every 7 minutes from SEED_T0, with
 * actor, operation, target, service, result and decision varying independently.
 */
export function seedEvents(count: number): AuditEvent[] {
  const memory = createMemoryEmitter({ capacity: count });
  let n = 0;
  const now = () => new Date(SEED_T0 + n * 7 * 60_000);
  const recorders = SEED_SERVICES.map((service) => createRecorder({ service, emitters: [memory], now }));
  for (; n < count; n++) {
    const recorder = recorders[(n >> 2) % 2] as (typeof recorders)[number];
    const context = {
      operation: SEED_OPERATIONS[n % 3] as string,
      actor: { id: SEED_ACTORS[n % 3 === 0 ? (n >> 1) % 3 : n % 3] as string },
      requestId: `req-${n}`,
      traceId: n % 3 === 0 ? SEED_TRACE_ID : "",
      result: { success: n % 5 !== 0, code: n % 5 === 0 ? 7 : 0 },
    };
    const project = `p-${n % 4}`;
    if (n % 4 === 0) recorder.recordAuthnResult({ ...context, method: "jwt", success: true });
    if (n % 4 === 1) {
      const decision = DECISIONS[(n >> 2) % 4] as (typeof DECISIONS)[number];
      recorder.recordAuthzDecision({
        ...context,
        relation: "editor",
        objectType: "project",
        objectId: project,
        decision,
      });
    }
    if (n % 4 === 2) {
      recorder.recordTupleChange({
        ...context,
        tuples: [{ operation: "write", user: "user:bob", relation: "viewer", object: `project:${project}` }],
      });
    }
    if (n % 4 === 3) {
      recorder.recordResourceMutation({
        ...context,
        mutation: "update",
        resourceType: n % 8 === 3 ? "project" : "member",
        resourceId: project,
      });
    }
  }
  return [...memory.events];
}
