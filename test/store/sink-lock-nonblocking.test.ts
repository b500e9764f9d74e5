// Another process holds the audit store's write lock (a sqlite3 shell inside a transaction, a backup,
// another writer) while a fail-open server delivers its events into the store through the store's
// sink. The sink's insert used to wait for the lock inside SQLite, on the event loop: every RPC of the
// server waited with it, for up to busyTimeoutMs per try. Real gRPC over loopback, a real SQLite file,
// the lock held by a real second process.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import { expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { EventSink } from "../../src/emitters/sink.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { errorCollector, tempDir } from "../delivery/helpers.js";
import { until } from "../helpers/fake-sink.js";
import { callOfKind, startProjectServer } from "../helpers/project-server.js";

const CALLS = 20;

/**
 * Longest the child holds the lock unasked; the store's busy timeout is longer, so a sink that waits
 * inside SQLite holds the event loop until then, and the calls can only finish after the lock is gone.
 */
const HOLD_LIMIT_MS = 15_000;

const requireHere = createRequire(import.meta.url);

/**
 * A child process holding the store's write lock (BEGIN IMMEDIATE) until asked, or until
 * HOLD_LIMIT_MS. `release()` resolves to its answer, saying whether it still held the lock when asked.
 */
async function holdWriteLockInChild(file: string) {
  const script = `
    const Database = require(process.argv[1]);
    const db = new Database(process.argv[2], { timeout: 0 });
    db.exec("BEGIN IMMEDIATE");
    let held = true;
    const letGo = () => {
      if (held) db.exec("ROLLBACK");
      held = false;
    };
    setTimeout(letGo, Number(process.argv[3]));
    process.stdin.once("data", () => {
      process.stdout.write(held ? "released on request\\n" : "had already let go\\n");
      letGo();
      db.close();
      process.exit(0);
    });
    process.stdout.write("locked\\n");`;
  const child = spawn(
    process.execPath,
    ["-e", script, requireHere.resolve("better-sqlite3"), file, String(HOLD_LIMIT_MS)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  child.stdout.setEncoding("utf8");
  const line = () =>
    new Promise<string>((resolve) => child.stdout.once("data", (data: string) => resolve(data.trim())));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  expect(await line()).toBe("locked");
  return {
    release: async () => {
      const answer = line();
      child.stdin.write("release\n");
      await exited;
      return answer;
    },
  };
}

it("keeps serving RPCs while another process holds the store's write lock, and stores every event once it lets go", async () => {
  const { dir, remove } = tempDir("sink-lock");
  const file = path.join(dir, "audit.db");
  const store = openAuditStore({ path: file, busyTimeoutMs: 60_000 });
  try {
    const sink = store.sink();
    let writes = 0;
    // Counts the pipeline's writes, to know one is under way; the store's own sink does the work.
    const counted: EventSink = {
      name: sink.name,
      write: (batch, options) => sink.write(batch, options),
      writeEncoded: (batch, options) => {
        writes++;
        return sink.writeEncoded?.(batch, options) ?? Promise.reject(new Error("no writeEncoded"));
      },
    };
    const { errors, onError } = errorCollector();
    const emitter = createDeliveryEmitter({ sink: counted, flushIntervalMs: 0, onError });
    const recorder = createRecorder({ service: "projects", emitters: [emitter] });
    const server = await startProjectServer(createAuditInterceptors({ recorder, rules: auditRules }));
    try {
      expect((await callOfKind(server.client, "unary", new Metadata())).code).toBe(status.OK);
      await recorder.flush();
      expect(store.lastSeq()).toBe(1);

      const lock = await holdWriteLockInChild(file);
      // One call's event reaches the sink, whose write now finds the lock held.
      expect((await callOfKind(server.client, "unary", new Metadata())).code).toBe(status.OK);
      await until(() => writes === 2);
      for (let i = 0; i < CALLS; i++) {
        expect((await callOfKind(server.client, "unary", new Metadata())).code).toBe(status.OK);
      }
      expect(store.lastSeq()).toBe(1); // the lock holds the writes back
      // Every call finished while the lock was still held: the sink's wait never held the event loop.
      expect(await lock.release()).toBe("released on request");

      await recorder.flush();
      expect(store.lastSeq()).toBe(CALLS + 2);
      expect(errors).toStrictEqual([]); // a lock shorter than busyTimeoutMs is waited for, not a failure
    } finally {
      await server.close();
      await recorder.close();
    }
  } finally {
    store.close();
    remove();
  }
}, 60_000);
