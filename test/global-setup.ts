// Every temporary file of a test run (the tests', their child processes', the browser's) goes into one
// folder made for the run and removed when it ends, so that a test that leaves its files behind does not
// fill the machine's temporary folder run after run.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const runDir = mkdtempSync(join(tmpdir(), "grpc-audit-test-run-"));
  // As open as /tmp itself: the PostgreSQL helper runs initdb and postgres as another user.
  chmodSync(runDir, 0o1777);
  // Test processes start after this and inherit it; os.tmpdir() reads TMPDIR at each call.
  process.env.TMPDIR = runDir;
  return () => rmSync(runDir, { recursive: true, force: true });
}
