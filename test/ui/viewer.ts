/**
 * Runs the real `grpc-audit ui` (the built CLI, a child process) and Debian's Chromium for the
 * browser tests. Chromium is driven by playwright-core at /usr/bin/chromium (`.ci/run` installs it):
 * a test tool's own browser download fails here.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Browser, chromium } from "playwright-core";
import type { AuditStore } from "../../src/store/audit-store.js";
import type { UiSource, UiVerifyReport } from "../../src/ui/ui-source.js";
import { ensureBuilt, REPO, startCli } from "../cli/helpers.js";
import { requireTool } from "../helpers/prerequisites.js";

/** Where browser tests keep what they saw (gitignored). */
export const ARTIFACTS = join(REPO, "test-results");

/**
 * Builds the CLI into dist/ as the other CLI tests do, and copies the page's files beside it (the
 * step `npm run build` adds after tsc). Test files run side by side: each file is replaced by a
 * rename, so a viewer another test starts meanwhile never reads half a file.
 */
export async function buildViewer(): Promise<void> {
  await ensureBuilt();
  const from = join(REPO, "src/ui/static");
  const to = join(REPO, "dist/ui/static");
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const content = readFileSync(join(from, name));
    if (existsSync(join(to, name)) && readFileSync(join(to, name)).equals(content)) continue;
    const temporary = join(to, `.${name}.${process.pid}.tmp`);
    writeFileSync(temporary, content);
    renameSync(temporary, join(to, name));
  }
}

/** A running `grpc-audit ui`. */
export interface Viewer {
  /** The URL it printed. */
  url: string;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Sends SIGTERM and resolves to its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `grpc-audit ui --port 0 ...args` (with `env` added) and resolves once it printed its URL. */
export async function startViewer(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Viewer> {
  const child: ChildProcess = startCli(["ui", "--port", "0", ...args], { env });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, "close");
  for (let waited = 0; !/http:\/\/\S+\//.test(stdout); waited += 20) {
    if (child.exitCode !== null || waited > 15_000) {
      child.kill("SIGKILL");
      throw new Error(`grpc-audit ui printed no URL; stdout: ${stdout} stderr: ${stderr}`);
    }
    await sleep(20);
  }
  const url = /http:\/\/\S+\//.exec(stdout)?.[0] ?? "";
  return {
    url,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const [code] = await exited;
      return code as number | null;
    },
  };
}

/** Headless Chromium (Debian's, on PATH); throws how to install it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireTool("chromium"),
    // Without the background-networking flags Chromium's own connections are refused in this sandbox
    // and it stalls; QUIC and the GPU are of no use to a loopback page.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A viewer source over `store` for tests of the page and its API, not of verification: it reports a
 * trail with no chains. `overrides` replace its reads (a test holding or slowing them).
 */
export function storeSource(
  name: string,
  store: Pick<AuditStore, "query" | "stats">,
  overrides: Partial<Pick<UiSource, "query" | "stats">> = {},
): UiSource {
  return {
    name,
    query: async (filter, page) => store.query(filter, page),
    stats: async (filter) => store.stats(filter),
    verify: async () => emptyVerifyReport(),
    ...overrides,
  };
}

/** The report of a store without chained events (or `events` of them, for tests that count calls). */
export function emptyVerifyReport(events = 0): UiVerifyReport {
  return { ok: true, chains: [], events, unchained: 0, findings: [], unusedKeys: [], unreadable: [] };
}
