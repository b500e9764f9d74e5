// A store file this process may not write (another user's, as an auditor's account often finds it),
// opened for writing as `grpc-audit prune` opens it: SQLite opens it read-only without a word, and its
// first write fails. The error names the file and says why, instead of SQLite's "attempt to write a
// readonly database".
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { numberedEvents, tempDir } from "../delivery/helpers.js";
import { runAsOtherUser } from "./as-other-user.js";

const CHILD = "test/store/fixtures/unwritable-child.ts";

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;

beforeAll(() => {
  compiled = compile([CHILD]);
  dir = tempDir("unwritable-file");
  // The child must reach the compiled files and the store's folder, and create the -shm file there.
  fs.chmodSync(path.dirname(compiled.file("x")), 0o755);
  fs.chmodSync(dir.dir, 0o777);
});

afterAll(() => {
  compiled?.remove();
  dir?.remove();
});

async function runChild(file: string): Promise<string[]> {
  return (await runAsOtherUser(compiled, CHILD, [file])).split("\n");
}

describe("a store file this process may not write, opened for writing", () => {
  it("refuses prune and insert with an AuditConfigError naming the file, and deletes nothing", async () => {
    const file = path.join(dir.dir, "audit.db");
    const store = openAuditStore({ path: file });
    store.insert(numberedEvents(3));
    store.close(); // the last connection: the -wal and -shm files are removed
    fs.chmodSync(file, 0o444); // anyone may read it, no one but root may write it

    const why = `AuditConfigError: audit store ${file}: cannot write it: this process may not write the file (or its file system is read-only); run as a user who may write it, such as the store's owner`;
    expect(await runChild(file)).toStrictEqual([
      `prune failed ${why}`,
      `prune-cut failed ${why}`,
      `insert failed ${why}`,
    ]);
    const reader = openAuditStore({ path: file, readonly: true });
    expect(reader.lastSeq()).toBe(3);
    reader.close();
  });
});
