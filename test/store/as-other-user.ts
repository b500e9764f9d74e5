import { spawn } from "node:child_process";
import { once } from "node:events";
import type { Compiled } from "../delivery/compile.js";

/** True when the tests run as root, who may read and write anything: a child then runs as nobody. */
export const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/**
 * Runs the compiled `script` with `args` as another user (nobody, when the tests run as root; else as
 * this user, the test taking the rights away itself) and gives its stdout, trimmed.
 */
export async function runAsOtherUser(compiled: Compiled, script: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [compiled.file(script), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  await once(child, "exit");
  return out.trim();
}
