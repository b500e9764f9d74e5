// A reader that may read the store file but not write its folder (another user, as an auditor's
// account often is) cannot read a WAL store: SQLite must create the -shm file beside it. The error says
// so and what to do, instead of SQLite's "attempt to write a readonly database".
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { numberedEvents, tempDir } from "../delivery/helpers.js";
import { asRoot, runAsOtherUser } from "./as-other-user.js";

const READ_CHILD = "test/store/fixtures/read-child.ts";

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;

beforeAll(() => {
  compiled = compile([READ_CHILD]);
  dir = tempDir("readonly-folder");
  // The reader must reach the compiled files and the store's folder.
  fs.chmodSync(path.dirname(compiled.file("x")), 0o755);
  fs.chmodSync(dir.dir, 0o755);
});

afterAll(() => {
  compiled?.remove();
  if (dir !== undefined) fs.chmodSync(dir.dir, 0o755);
  dir?.remove();
});

const readAsOtherUser = (file: string) => runAsOtherUser(compiled, READ_CHILD, [file]);

describe("reading a store whose folder the reader may not write", () => {
  it("says that the -shm file cannot be created there, and what to do", async () => {
    const folder = path.join(dir.dir, "store");
    fs.mkdirSync(folder);
    const file = path.join(folder, "audit.db");
    const store = openAuditStore({ path: file });
    store.insert(numberedEvents(3));
    store.close(); // the last connection: the -wal and -shm files are removed
    fs.chmodSync(file, 0o644); // the reader may read the file itself
    fs.chmodSync(folder, asRoot ? 0o755 : 0o555);
    try {
      expect(await readAsOtherUser(file)).toBe(
        `failed audit store ${file}: cannot read it: reading a store (WAL mode) needs its -shm file, which this process may not create in the store's folder; run as a user who may write that folder (such as the store's owner), or give this user write access to it`,
      );
      // Given write access to the folder, the same reader reads it.
      fs.chmodSync(folder, 0o777);
      expect(await readAsOtherUser(file)).toBe("opened 3");
    } finally {
      fs.chmodSync(folder, 0o755);
    }
  });
});
