// A log destination path that can never be written is refused when the emitter is created; one that
// fails only when SonicBoom opens it (a socket file) is given up, never a crash when the process exits.
import { execFile } from "node:child_process";
import fs from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { type Compiled, compile } from "../delivery/compile.js";

describe("a log destination path that cannot be a log file", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-logdest-"));
    fs.writeFileSync(path.join(dir, "plain"), "");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const creation = (destination: string) => {
    try {
      createLogEmitter({ destination });
    } catch (error) {
      expect(error).toBeInstanceOf(AuditConfigError);
      return (error as Error).message;
    }
    return "created";
  };

  // Before the fix: created; at exit pino's hook threw "sonic boom is not ready yet" (exit code 1).
  it("refuses a directory and a path under a file, naming the path and why", () => {
    expect(creation(dir)).toBe(
      `log emitter: cannot open destination ${JSON.stringify(dir)}: it is a directory (EISDIR)`,
    );
    // mkdir -p answers EEXIST for a file where a parent folder goes, ENOTDIR for one further up.
    const under = path.join(dir, "plain", "audit.log");
    expect(creation(under)).toBe(
      `log emitter: cannot open destination ${JSON.stringify(under)}: a parent is not a directory (EEXIST)`,
    );
    const deeper = path.join(dir, "plain", "logs", "audit.log");
    expect(creation(deeper)).toBe(
      `log emitter: cannot open destination ${JSON.stringify(deeper)}: a parent is not a directory (ENOTDIR)`,
    );
  });
});

describe("a log destination SonicBoom fails to open (a socket file)", () => {
  const CHILD = "test/emitters/fixtures/log-unready-child.ts";
  let compiled: Compiled;
  let dir: string;
  beforeAll(() => {
    compiled = compile([CHILD]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-logsock-"));
  });
  afterAll(() => {
    compiled?.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Before the fix: exit code 1 and a stack trace ("sonic boom is not ready yet") from pino's exit hook.
  it("reports the error and lets the process exit cleanly", async () => {
    const socket = path.join(dir, "audit.sock");
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [compiled.file(CHILD), socket], (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }),
        );
      });
      expect(result).toStrictEqual({
        code: 0,
        stdout: `onError: log: destination write failed; ${JSON.stringify({ name: "log", emitted: 0, dropped: {}, failed: 0 })}\n`,
        stderr: "",
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
