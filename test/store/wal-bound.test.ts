// The store's write-ahead log stays bounded while several processes write into one store back to back,
// with the default background checkpoints: a checkpoint that cannot finish between their writes must not
// let the log grow without end (it reached ten times the store's size). The writers' checkpoint workers
// run on a held monotonic clock (fixtures/held-clock-driver.cjs): on a loaded machine a worker ran out of
// its second to empty the log while another process's checkpoint or writer held it, and its writer went on
// past twice the bound. That give-up is for a reader holding the log, of which there is none here.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { symlinkSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { type Compiled, compile } from "../delivery/compile.js";
import { tempDir } from "../delivery/helpers.js";

const WRITE_CHILD = "test/store/fixtures/write-child.ts";
const HELD_CLOCK_DRIVER = path.resolve("test/store/fixtures/held-clock-driver.cjs");
const WRITERS = 3;
const EVENTS = 20_000;
const BATCH = 50;
/** The bound the docs give: a checkpoint restarts the log once it passes about 40 MiB. */
const LOG_BOUND = 40 * 1024 * 1024;

let compiled: Compiled;
let dir: ReturnType<typeof tempDir>;

beforeAll(() => {
  compiled = compile([WRITE_CHILD]);
  dir = tempDir("wal-bound");
});

afterAll(() => {
  compiled?.remove();
  dir?.remove();
});

async function write(file: string, name: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [compiled.file(WRITE_CHILD), file, name, String(EVENTS), String(BATCH), HELD_CLOCK_DRIVER],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  const [code] = await once(child, "exit");
  expect(code, out).toBe(0);
  const match = /^max-wal (\d+)$/m.exec(out);
  return Number(match?.[1]);
}

describe("the write-ahead log under sustained writes", { timeout: 90_000 }, () => {
  it(`stays within twice the checkpoint bound while ${WRITERS} processes insert ${EVENTS} events each`, async () => {
    const file = path.join(dir.dir, "audit.db");
    openAuditStore({ path: file }).close();
    const maxWal = await Promise.all(Array.from({ length: WRITERS }, (_, w) => write(file, `w${w}`)));
    const store = openAuditStore({ path: file, readonly: true });
    const total = store.stats().total;
    store.close();
    expect(total).toBe(WRITERS * EVENTS);
    expect(maxWal.filter((bytes) => bytes > 2 * LOG_BOUND)).toStrictEqual([]);
  });

  // SQLite keeps the log beside the link's target: the bound must be measured on that log.
  it("stays within it too when the store is opened through a symlink to its file", async () => {
    const file = path.join(dir.dir, "linked.db");
    const link = path.join(dir.dir, "link.db");
    openAuditStore({ path: file }).close();
    symlinkSync(file, link);
    const maxWal = await Promise.all(Array.from({ length: WRITERS }, (_, w) => write(link, `l${w}`)));
    expect(maxWal.filter((bytes) => bytes > 2 * LOG_BOUND)).toStrictEqual([]);
  });
});
