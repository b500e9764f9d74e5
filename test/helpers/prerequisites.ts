/**
 * The system tools some tests run (README, "Development"), and the one-line error that names a missing
 * one with the command that installs it. The helpers that run a tool check for it first, so a test that
 * needs it fails with that line instead of a spawn error.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Each tool and the Debian package that installs it. */
export const SYSTEM_TOOLS = {
  protoc: "protobuf-compiler",
  "nats-server": "nats-server",
  // PostgreSQL's server binaries are off PATH, in /usr/lib/postgresql/15/bin (postgres-server.ts looks there).
  initdb: "postgresql-15",
  postgres: "postgresql-15",
  // The web viewer's browser tests drive Debian's Chromium (/usr/bin/chromium).
  chromium: "chromium",
  // The TLS broker tests make a CA and certificates with it.
  openssl: "openssl",
  // The stalled-output ingest test shrinks a pipe to 4 KiB (F_SETPIPE_SZ), which Node cannot do.
  python3: "python3",
} as const;

/** A system tool some tests run. */
export type SystemTool = keyof typeof SYSTEM_TOOLS;

/** The error when `tool` is missing: `nats-server not found: apt-get install -y nats-server`. */
export function missingToolMessage(tool: SystemTool): string {
  return `${tool} not found: apt-get install -y ${SYSTEM_TOOLS[tool]}`;
}

/**
 * The absolute path of `tool` in the first folder of `searchPath` (a PATH value) that has it as an
 * executable file, as `command -v` finds it; throws `missingToolMessage(tool)` when none has.
 */
export function requireTool(tool: SystemTool, searchPath = process.env.PATH ?? ""): string {
  for (const dir of searchPath.split(delimiter)) {
    if (dir === "") continue;
    const file = join(dir, tool);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not in this folder
    }
  }
  throw new Error(missingToolMessage(tool));
}
