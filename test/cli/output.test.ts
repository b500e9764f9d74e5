import { existsSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { print, printJson } from "../../src/cli/output.js";
import { terminalSafeJson } from "../../src/cli/safe-text.js";
import { eventToJson } from "../../src/event/serialize.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, seedEvents, tempDir } from "./helpers.js";

/**
 * A pipe whose reader takes a chunk only when the test says: `release()` completes the oldest
 * pending write. `most` is the most bytes it ever held buffered (written but not taken).
 */
function pausedPipe(highWaterMark: number) {
  const pending: (() => void)[] = [];
  let received = "";
  const out = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, done) {
      pending.push(() => {
        received += chunk.toString();
        done();
      });
    },
  });
  const state = { most: 0 };
  const note = () => {
    state.most = Math.max(state.most, out.writableLength);
  };
  out.on("drain", note);
  return {
    out,
    state,
    received: () => received,
    note,
    /** Takes the oldest pending chunk; false when nothing was pending. */
    release(): boolean {
      note();
      const next = pending.shift();
      next?.();
      return next !== undefined;
    },
  };
}

describe("print and printJson", () => {
  it("wait for a full pipe to drain: the buffer never holds more than its limit and one line", async () => {
    const pipe = pausedPipe(1024);
    const line = { text: "x".repeat(100) };
    const lineBytes = JSON.stringify(line).length + 1;
    let printed = 0;
    const producer = (async () => {
      for (; printed < 500; printed++) await printJson(line, pipe.out);
    })();
    let finished = false;
    void producer.then(() => {
      finished = true;
    });
    // The reader takes one chunk each time the producer has had its turn, until the producer is done.
    while (!finished) {
      await new Promise((resolve) => setImmediate(resolve));
      pipe.release();
    }
    while (pipe.release());
    expect(pipe.received()).toBe(`${JSON.stringify(line)}\n`.repeat(500));
    expect(pipe.state.most).toBeLessThanOrEqual(1024 + lineBytes);
  });

  it("resolve at once while the pipe takes the text", async () => {
    const chunks: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    await print("one", out);
    await printJson({ a: "\u202e" }, out);
    expect(chunks).toStrictEqual(["one\n", '{"a":"\\u202e"}\n']);
  });
});

describe("grpc-audit output", () => {
  const COUNT = 2500;
  let db: string;
  let store: AuditStore;

  beforeAll(async () => {
    db = join(tempDir(), "audit.db");
    store = openAuditStore({ path: db });
    store.insert(seedEvents(COUNT));
    await ensureBuilt();
  }, BUILD_TIMEOUT_MS);
  afterAll(() => store.close());

  /** `query --json` as it was printed whole: one JSON.stringify of the document, made terminal-safe. */
  const whole = (events: Parameters<typeof eventToJson>[0][], nextCursor: string | null) =>
    `${terminalSafeJson(JSON.stringify({ events: events.map(eventToJson), nextCursor }))}\n`;

  it("query --json prints, an event at a time, the same bytes as the whole document", async () => {
    const all = await runCli(["query", "--db", db, "--all", "--json", "--limit", "1000"]);
    const stored = store.query({}, { limit: 1000 });
    const everything = [stored];
    while (everything.at(-1)?.nextCursor !== undefined) {
      everything.push(store.query({}, { limit: 1000, cursor: everything.at(-1)?.nextCursor ?? "" }));
    }
    expect(all.stderr).toBe("");
    expect(all.stdout).toBe(
      whole(
        everything.flatMap((page) => page.events),
        null,
      ),
    );
    const page = await runCli(["query", "--db", db, "--json", "--limit", "3", "--actor", "bob"]);
    const first = store.query({ actorId: "bob" }, { limit: 3 });
    expect(page.stdout).toBe(whole(first.events, first.nextCursor ?? null));
    const none = await runCli(["query", "--db", db, "--json", "--from", "2030-01-01"]);
    expect(none.stdout).toBe('{"events":[],"nextCursor":null}\n');
  });

  it("a write error (a full disk) is one line and exit 1, without a stack", async () => {
    expect(existsSync("/dev/full")).toBe(true);
    const run = await runCli(["query", "--db", db, "--all", "--ndjson"], { stdout: "/dev/full" });
    expect(run).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: "error: cannot write the output: ENOSPC: no space left on device, write\n",
    });
  });
});
