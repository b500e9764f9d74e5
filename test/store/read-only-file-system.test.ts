// A readable store that cannot be read because its folder cannot be written: SQLite must create the
// -shm file beside it, and says only "unable to open database file" (SQLITE_CANTOPEN) when it cannot.
// The error says why and what to do: for a store on a read-only file system (a snapshot, a read-only
// mount, here a tmpfs remounted read-only), and for another user reading a store whose writer left
// its -wal file behind (a crash, or a copy of a store in use).
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { numberedEvents, tempDir } from "../delivery/helpers.js";
import { asRoot, runAsOtherUser } from "./as-other-user.js";
import { mountTmpfs } from "./tmpfs.js";

const READ_CHILD = "test/store/fixtures/read-child.ts";

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;

beforeAll(() => {
  compiled = compile([READ_CHILD]);
  dir = tempDir("read-only-file-system");
  // The other user must reach the compiled files and the store's folder.
  fs.chmodSync(path.dirname(compiled.file("x")), 0o755);
  fs.chmodSync(dir.dir, 0o755);
});

afterAll(() => {
  compiled?.remove();
  dir?.remove();
});

function openFails(file: string): string {
  try {
    openAuditStore({ path: file, readonly: true }).close();
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  return "opened";
}

describe("reading a store on a read-only file system", () => {
  it("is refused with an AuditConfigError saying so, and what to do", () => {
    const disk = mountTmpfs(4096);
    const file = path.join(disk.dir, "audit.db");
    try {
      const store = openAuditStore({ path: file });
      store.insert(numberedEvents(3));
      store.close(); // the last connection: the -wal and -shm files are removed
      disk.readOnly();

      expect(openFails(file)).toBe(
        `AuditConfigError: audit store ${file}: cannot read it: reading a store (WAL mode) needs its -shm file, which cannot be created on the read-only file system of the store's folder; copy the store file (and its -wal file, if there is one) to a writable folder and read the copy`,
      );
      // As it says: a copy in a writable folder reads.
      const copy = path.join(dir.dir, "copy.db");
      fs.copyFileSync(file, copy);
      const read = openAuditStore({ path: copy, readonly: true });
      expect(read.stats().total).toBe(3);
      read.close();
    } finally {
      disk.remove();
    }
  });
});

describe("another user reading a store with a -wal file left behind, in a folder it may not write", () => {
  it("is refused saying that the -shm file cannot be created there, and what to do", async () => {
    const folder = path.join(dir.dir, "store");
    fs.mkdirSync(folder);
    const live = path.join(dir.dir, "live.db");
    const writer = openAuditStore({ path: live, backgroundCheckpoints: false });
    writer.insert(numberedEvents(3));
    // The file and its log as a writer killed now would leave them, without the -shm.
    const file = path.join(folder, "audit.db");
    fs.copyFileSync(live, file);
    fs.copyFileSync(`${live}-wal`, `${file}-wal`);
    writer.close();
    for (const f of [file, `${file}-wal`]) fs.chmodSync(f, 0o644); // the reader may read them
    fs.chmodSync(folder, asRoot ? 0o755 : 0o555);
    try {
      expect(await runAsOtherUser(compiled, READ_CHILD, [file])).toBe(
        `failed audit store ${file}: cannot read it: reading a store (WAL mode) needs its -shm file, which this process may not create in the store's folder; run as a user who may write that folder (such as the store's owner), or give this user write access to it`,
      );
      // Given write access to the folder, the same reader reads it, the log's events too.
      fs.chmodSync(folder, 0o777);
      expect(await runAsOtherUser(compiled, READ_CHILD, [file])).toBe("opened 3");
    } finally {
      fs.chmodSync(folder, 0o755);
    }
  });
});
