/** Child processes that open audit stores (test/store/fixtures/open-child.ts), for the multi-process store tests. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import type { Compiled } from "../delivery/compile.js";

export const OPEN_CHILD = "test/store/fixtures/open-child.ts";

/** A running open-child: `open(path)` resolves to its answer line ("opened" or "failed <message>"). */
export interface Opener {
  readonly child: ChildProcess;
  /** Resolves once the child printed "ready". */
  readonly ready: Promise<void>;
  open(path: string): Promise<string>;
  /** Resolves to the next line the child prints. */
  next(): Promise<string>;
  stop(): Promise<void>;
}

export function startOpener(compiled: Compiled): Opener {
  const child = spawn(process.execPath, [compiled.file(OPEN_CHILD)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let rest = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const line of parts) {
      const waiter = waiting.shift();
      if (waiter === undefined) lines.push(line);
      else waiter(line);
    }
  });
  const next = () =>
    new Promise<string>((resolve) => {
      const line = lines.shift();
      if (line === undefined) waiting.push(resolve);
      else resolve(line);
    });
  const ready = next().then((line) => {
    if (line !== "ready") throw new Error(`open-child said ${line}`);
  });
  return {
    child,
    ready,
    next,
    open(path) {
      child.stdin?.write(`open ${path}\n`);
      return next();
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.stdin?.end();
      await exited;
    },
  };
}
