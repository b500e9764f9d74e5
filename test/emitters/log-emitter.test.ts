import crypto from "node:crypto";
import { once } from "node:events";
import fs from "node:fs";
import { createServer, type Server } from "node:net";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emitter, FlushReport } from "../../src/emitters/emitter.js";
import { BATCH_MAX_WAIT_MS } from "../../src/emitters/line-batcher.js";
import { createLogEmitter, type LogEmitterOptions } from "../../src/emitters/log-emitter.js";
import { AuditConfigError, AuditEmitError } from "../../src/errors/index.js";
import { eventFromJson } from "../../src/event/serialize.js";
import { DETAIL_KINDS, type DetailKind, sampleEvent, sampleEvents } from "../helpers/events.js";

// One directory per test, removed after the whole file: an emitter that opened a file in the background
// must not find its directory gone.
let root: string;
let dir: string;
let cleanups: (() => void)[];

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-log-"));
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(root, "test-"));
  cleanups = [];
});

afterEach(() => {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // Already closed by the test.
    }
  }
});

const okReport = (emitter = "log"): FlushReport => ({ ok: true, results: [{ emitter, status: "ok" }] });

/** The JSON lines of a file, parsed. */
function readLines(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** An asynchronous pino.destination the test owns (ended after the test). */
function userDestination(file: string): ReturnType<typeof pino.destination> {
  const destination = pino.destination({ dest: file, sync: false });
  cleanups.push(() => destination.end());
  return destination;
}

/** Emits `count` copies of the sample event with ids "evt-0", "evt-1", ... in one synchronous loop. */
function emitMany(emitter: Emitter, count: number): void {
  const base = sampleEvent();
  for (let i = 0; i < count; i++) {
    const outcome = emitter.emit({ ...base, eventId: `evt-${i}` });
    if (outcome !== "accepted") throw new Error(`event evt-${i} was ${outcome}`);
  }
}

/** Asserts the file holds the lines of emitMany(count): each id exactly once, in emit order. */
function expectAllInOrder(file: string, count: number): void {
  const ids = fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { audit: { eventId: string } }).audit.eventId);
  // Summaries rather than a 100,000-element diff when this fails.
  expect(ids.length).toBe(count);
  expect(new Set(ids).size).toBe(count);
  const firstOutOfOrder = ids.findIndex((id, i) => id !== `evt-${i}`);
  expect(firstOutOfOrder === -1 ? "in order" : `evt-${firstOutOfOrder} is ${ids[firstOutOfOrder]}`).toBe(
    "in order",
  );
}

/**
 * Keeps every thread of libuv's pool busy for a few hundred milliseconds, as other fs, dns, zlib or
 * crypto work in a busy server does; asynchronous file writes queue behind it.
 */
function occupyThreadpool(): Promise<void> {
  const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const job = () =>
    new Promise<void>((resolve, reject) =>
      crypto.pbkdf2("password", "salt", 200_000, 32, "sha256", (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  return Promise.all(Array.from({ length: threads }, job)).then(() => undefined);
}

/** A pino logger whose stream throws on every write. */
function throwingLogger(message: string): pino.Logger {
  return pino(
    {},
    {
      write() {
        throw new Error(message);
      },
    },
  );
}

/** A pino destination that discards everything. */
const devNull = (): pino.DestinationStream => ({ write: () => {} });

/**
 * A path that passes the checks at creation but that SonicBoom cannot open (ENXIO): a socket file, set
 * up by the describe that uses it. A path that can never be a log file (under a regular file, a
 * directory) is refused at creation instead (log-destination-unusable.test.ts).
 */
let socketPath = "";
const unopenablePath = (): string => socketPath;

/** Resolves with the promise's value, or with "still pending" after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "still pending"> {
  return Promise.race([
    promise,
    new Promise<"still pending">((resolve) => setTimeout(() => resolve("still pending"), ms)),
  ]);
}

describe("createLogEmitter", () => {
  describe("writes one line per event that reads back as the same event, with its kind as msg", () => {
    const kinds: [DetailKind, string][] = [
      ["authn", "authn.result"],
      ["authz", "authz.decision"],
      ["tupleChange", "tuple.change"],
      ["resourceMutation", "resource.mutation"],
      ["resourceAccess", "resource.access"],
      ["checkpoint", "chain.checkpoint"],
    ];
    for (const [kind, msg] of kinds) {
      it(`for a ${kind} event`, async () => {
        const file = path.join(dir, "audit.ndjson");
        const event = sampleEvent({ kind });
        const emitter = createLogEmitter({ destination: file });

        expect(emitter.emit(event)).toBe("accepted");
        expect(await emitter.close()).toStrictEqual(okReport());

        const lines = readLines(file);
        expect(lines).toHaveLength(1);
        const [line] = lines;
        expect(eventFromJson(line?.audit)).toStrictEqual(event);
        expect(line?.msg).toBe(msg);
        expect(line?.level).toBe(30);
        expect(Object.keys(line ?? {}).sort()).toStrictEqual([
          "audit",
          "hostname",
          "level",
          "msg",
          "pid",
          "time",
        ]);
        expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 1, dropped: {}, failed: 0 });
      });
    }
  });

  it("writes events in emit order at the configured level and key, creating missing directories", async () => {
    const file = path.join(dir, "nested", "deeper", "audit.ndjson");
    const events = sampleEvents();
    const emitter = createLogEmitter({ destination: file, level: "warn", key: "event", name: "audit-log" });

    for (const event of events) expect(emitter.emit(event)).toBe("accepted");
    expect(await emitter.close()).toStrictEqual(okReport("audit-log"));

    const lines = readLines(file);
    expect(lines.map((line) => eventFromJson(line.event))).toStrictEqual(events);
    expect(lines.map((line) => [line.level, line.msg, "audit" in line])).toStrictEqual([
      [40, "authn.result", false],
      [40, "authz.decision", false],
      [40, "tuple.change", false],
      [40, "resource.mutation", false],
      [40, "resource.access", false],
      [40, "chain.checkpoint", false],
      [40, "record.summary", false],
    ]);
    expect(emitter.stats()).toStrictEqual({
      name: "audit-log",
      emitted: DETAIL_KINDS.length,
      dropped: {},
      failed: 0,
    });
  });

  describe("creates its log file readable by its owner only (0600)", () => {
    for (const sync of [false, true]) {
      it(`with sync: ${sync}`, async () => {
        const previous = process.umask(0o022); // the usual umask, which leaves new files world-readable
        try {
          const file = path.join(dir, "new", "audit.ndjson");
          const emitter = createLogEmitter({ destination: file, sync });
          expect(emitter.emit(sampleEvent())).toBe("accepted");
          expect(await emitter.close()).toStrictEqual(okReport());

          expect(fs.statSync(file).mode & 0o777).toBe(0o600);
          expect(readLines(file)).toHaveLength(1);
        } finally {
          process.umask(previous);
        }
      });
    }
  });

  describe("with a destination it owns, writes at every level", () => {
    const levels: [pino.Level, number][] = [
      ["fatal", 60],
      ["error", 50],
      ["info", 30],
      ["debug", 20],
      ["trace", 10],
    ];
    for (const [level, number] of levels) {
      it(`at "${level}"`, async () => {
        const file = path.join(dir, "audit.ndjson");
        const event = sampleEvent();
        const emitter = createLogEmitter({ destination: file, level });

        expect(emitter.emit(event)).toBe("accepted");
        expect(await emitter.close()).toStrictEqual(okReport());

        const lines = readLines(file);
        expect(lines.map((line) => [line.level, eventFromJson(line.audit)])).toStrictEqual([[number, event]]);
      });
    }
  });

  it("writes to the user's logger with the logger's own fields, and leaves it open after close", async () => {
    const file = path.join(dir, "audit.ndjson");
    const destination = pino.destination({ dest: file, sync: true });
    const logger = pino({ base: { app: "projects" } }, destination);
    const event = sampleEvent({ kind: "tupleChange" });
    const emitter = createLogEmitter({ logger });

    expect(emitter.emit(event)).toBe("accepted");
    expect(await emitter.close()).toStrictEqual(okReport());
    logger.info("still open");
    destination.flushSync();

    const lines = readLines(file);
    expect(lines.map((line) => [line.app, line.msg])).toStrictEqual([
      ["projects", "tuple.change"],
      ["projects", "still open"],
    ]);
    expect(eventFromJson(lines[0]?.audit)).toStrictEqual(event);
  });

  it("writes to a Writable destination without ending it", async () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString());
        callback();
      },
    });
    const event = sampleEvent({ kind: "tupleChange" });
    const emitter = createLogEmitter({ destination: stream });

    expect(emitter.emit(event)).toBe("accepted");
    expect(await emitter.close()).toStrictEqual(okReport());

    expect(chunks).toHaveLength(1);
    const line = JSON.parse(chunks[0] ?? "") as Record<string, unknown>;
    expect([line.msg, eventFromJson(line.audit)]).toStrictEqual(["tuple.change", event]);
    expect(stream.writableEnded).toBe(false);
  });

  it("writes to a plain { write } destination (pino's DestinationStream) without ending it", async () => {
    const chunks: string[] = [];
    let ended = false;
    const stream = {
      write(chunk: string) {
        chunks.push(chunk);
      },
      end() {
        ended = true;
      },
    };
    const event = sampleEvent({ kind: "resourceMutation" });
    const emitter = createLogEmitter({ destination: stream });

    expect(emitter.emit(event)).toBe("accepted");
    expect(await emitter.close()).toStrictEqual(okReport());

    expect(chunks).toHaveLength(1);
    const line = JSON.parse(chunks[0] ?? "") as Record<string, unknown>;
    expect([line.msg, eventFromJson(line.audit)]).toStrictEqual(["resource.mutation", event]);
    expect(ended).toBe(false);
  });

  it("writes to a file descriptor destination and closes it on close()", async () => {
    const file = path.join(dir, "audit.ndjson");
    const fd = fs.openSync(file, "a");
    const event = sampleEvent({ kind: "authn" });
    const emitter = createLogEmitter({ destination: fd });

    expect(emitter.emit(event)).toBe("accepted");
    expect(await emitter.close()).toStrictEqual(okReport());

    expect(readLines(file).map((line) => eventFromJson(line.audit))).toStrictEqual([event]);
    expect(() => fs.fstatSync(fd)).toThrow(expect.objectContaining({ code: "EBADF" }));
  });

  it("flush() writes out buffered events without closing", async () => {
    const file = path.join(dir, "audit.ndjson");
    const emitter = createLogEmitter({ destination: file });
    const [first, second] = sampleEvents();
    if (first === undefined || second === undefined) throw new Error("sampleEvents() is short");

    expect(emitter.emit(first)).toBe("accepted");
    expect(await emitter.flush()).toStrictEqual(okReport());
    expect(readLines(file).map((line) => eventFromJson(line.audit))).toStrictEqual([first]);

    expect(emitter.emit(second)).toBe("accepted");
    expect(await emitter.flush()).toStrictEqual(okReport());
    expect(readLines(file).map((line) => eventFromJson(line.audit))).toStrictEqual([first, second]);
    expect(await emitter.close()).toStrictEqual(okReport());
  });

  describe("close() loses nothing emitted synchronously just before it", () => {
    const MANY = 25_000;
    // One synchronous burst of 25,000 lines (~22 MB), beyond the default maxBufferedBytes: thousands of
    // writes still queued when close() runs.
    const unbounded = Number.POSITIVE_INFINITY;

    it("with a destination path it owns (asynchronous sonic-boom)", async () => {
      const file = path.join(dir, "audit.ndjson");
      const emitter = createLogEmitter({ destination: file, maxBufferedBytes: unbounded });

      emitMany(emitter, MANY);
      expect(await emitter.close()).toStrictEqual(okReport());

      expectAllInOrder(file, MANY);
      expect(emitter.stats()).toStrictEqual({ name: "log", emitted: MANY, dropped: {}, failed: 0 });
    });

    it("with the user's logger on an asynchronous pino.destination", async () => {
      const file = path.join(dir, "audit.ndjson");
      const emitter = createLogEmitter({ logger: pino(userDestination(file)), maxBufferedBytes: unbounded });

      emitMany(emitter, MANY);
      expect(await emitter.close()).toStrictEqual(okReport());

      expectAllInOrder(file, MANY);
      expect(emitter.stats()).toStrictEqual({ name: "log", emitted: MANY, dropped: {}, failed: 0 });
    });

    // The same, with an asynchronous write of the first lines still queued in the threadpool when
    // close() runs: this makes deterministic the race the tests above can only hit by chance.
    it("with a destination path it owns, while the threadpool is busy", async () => {
      const file = path.join(dir, "audit.ndjson");
      const emitter = createLogEmitter({ destination: file });
      expect(await emitter.flush()).toStrictEqual(okReport()); // the file is open

      const busy = occupyThreadpool();
      emitMany(emitter, 1000);
      expect(await emitter.close()).toStrictEqual(okReport());

      expectAllInOrder(file, 1000);
      await busy;
    });

    it("with the user's logger on an asynchronous pino.destination, while the threadpool is busy", async () => {
      const file = path.join(dir, "audit.ndjson");
      const destination = userDestination(file);
      await once(destination, "ready");
      const emitter = createLogEmitter({ logger: pino(destination) });

      const busy = occupyThreadpool();
      emitMany(emitter, 1000);
      expect(await emitter.close()).toStrictEqual(okReport());

      expectAllInOrder(file, 1000);
      await busy;
    });
  });

  describe("throws an AuditConfigError with a clear message", () => {
    const cases: [string, () => LogEmitterOptions, string][] = [
      [
        "without a logger or a destination",
        () => ({}),
        "log emitter: needs a pino `logger` or a `destination` (path, fd or stream)",
      ],
      [
        "with both a logger and a destination",
        () => ({ logger: pino({}, devNull()), destination: path.join(dir, "audit.ndjson") }),
        "log emitter: give either `logger` or `destination`, not both",
      ],
      [
        "for an empty destination",
        () => ({ destination: "" }),
        "log emitter: `destination` must not be empty",
      ],
      [
        "for a destination that is neither a path, an fd nor a stream",
        () => ({ destination: { path: "/tmp/x" } as unknown as pino.DestinationStream }),
        "log emitter: needs a pino `logger` or a `destination` (path, fd or stream)",
      ],
      [
        "for a logger that is not a pino logger",
        () => ({ logger: { info: () => {} } as unknown as pino.Logger }),
        "log emitter: `logger` must be a pino logger",
      ],
      [
        "for an unknown level",
        () => ({ logger: pino({}, devNull()), level: "verbose" as pino.Level }),
        "log emitter: level must be one of fatal, error, warn, info, debug, trace, got verbose",
      ],
      [
        'for a logger at "warn", which would discard events written at "info"',
        () => ({ logger: pino({ level: "warn" }, devNull()) }),
        'log emitter: the logger\'s level "warn" discards audit events written at "info": ' +
          'give the emitter a `level` the logger writes (such as "warn"), or a logger at "info"',
      ],
      [
        'for a "silent" logger, which discards every level',
        () => ({ logger: pino({ level: "silent" }, devNull()) }),
        'log emitter: the logger\'s level "silent" discards audit events written at "info": give it a logger at "info"',
      ],
      [
        "for options that are not an object",
        () => null as unknown as LogEmitterOptions,
        "log emitter: options must be an object with a `logger` or a `destination`",
      ],
    ];
    for (const [what, options, message] of cases) {
      it(what, () => {
        const build = () => createLogEmitter(options());
        expect(build).toThrow(AuditConfigError);
        expect(build).toThrow(new AuditConfigError(message));
      });
    }
  });

  it("rejects bad options before opening the destination", async () => {
    const file = path.join(dir, "audit.ndjson");

    expect(() => createLogEmitter({ destination: file, level: "verbose" as pino.Level })).toThrow(
      AuditConfigError,
    );
    // A second emitter opened after it has had the same time for its asynchronous mkdir and open.
    const probe = createLogEmitter({ destination: path.join(dir, "probe.ndjson") });
    expect(await probe.close()).toStrictEqual(okReport());
    expect(fs.existsSync(path.join(dir, "probe.ndjson"))).toBe(true);

    expect(fs.existsSync(file)).toBe(false);
  });

  it("drops and counts events emitted after close", async () => {
    const file = path.join(dir, "audit.ndjson");
    const emitter = createLogEmitter({ destination: file });
    const [first, second] = sampleEvents();
    if (first === undefined || second === undefined) throw new Error("sampleEvents() is short");

    expect(emitter.emit(first)).toBe("accepted");
    expect(await emitter.close()).toStrictEqual(okReport());
    expect(emitter.emit(second)).toBe("dropped");
    expect(emitter.emit(second)).toBe("dropped");

    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 1, dropped: { closed: 2 }, failed: 0 });
    expect(readLines(file).map((line) => eventFromJson(line.audit))).toStrictEqual([first]);
    expect(await emitter.close()).toStrictEqual(okReport());
  });

  it("drops events as level_disabled while the user's logger level is raised above the events' level", async () => {
    const file = path.join(dir, "audit.ndjson");
    const logger = pino(pino.destination({ dest: file, sync: true }));
    const emitter = createLogEmitter({ logger });
    const [first, second, third] = sampleEvents();
    if (first === undefined || second === undefined || third === undefined) throw new Error("short");

    expect(emitter.emit(first)).toBe("accepted");
    logger.level = "error";
    expect(emitter.emit(second)).toBe("dropped");
    logger.level = "info";
    expect(emitter.emit(third)).toBe("accepted");
    expect(await emitter.close()).toStrictEqual(okReport());

    expect(emitter.stats()).toStrictEqual({
      name: "log",
      emitted: 2,
      dropped: { level_disabled: 1 },
      failed: 0,
    });
    expect(readLines(file).map((line) => eventFromJson(line.audit))).toStrictEqual([first, third]);
  });

  it("returns failed, counts it and reports an AuditEmitError without event content when the stream throws", () => {
    const errors: Error[] = [];
    const emitter = createLogEmitter({ logger: throwingLogger("disk full"), onError: (e) => errors.push(e) });
    const event = sampleEvent({ kind: "authn" });

    expect(emitter.emit(event)).toBe("failed");
    expect(emitter.emit(event)).toBe("failed");

    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 0, dropped: {}, failed: 2 });
    expect(errors).toStrictEqual([
      new AuditEmitError("log", "write failed", { cause: new Error("disk full") }),
      new AuditEmitError("log", "write failed", { cause: new Error("disk full") }),
    ]);
    expect(errors[0]).toBeInstanceOf(AuditEmitError);
    const text = `${errors[0]?.message}\n${errors[0]?.stack}`;
    for (const content of [
      event.eventId,
      event.requestId,
      event.traceId,
      "alice@example.com",
      "user-7",
      "authn.result",
    ]) {
      expect(text).not.toContain(content);
    }
  });

  it("still counts a failure when the onError hook itself throws", () => {
    const emitter = createLogEmitter({
      logger: throwingLogger("disk full"),
      onError: () => {
        throw new Error("hook exploded");
      },
    });

    expect(emitter.emit(sampleEvent())).toBe("failed");
    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 0, dropped: {}, failed: 1 });
  });

  describe("a destination that cannot be opened", () => {
    let server: Server;
    beforeAll(async () => {
      socketPath = path.join(root, "audit.sock");
      server = createServer();
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    /**
     * Asserts a report of one failed flush or close whose cause is the failed open; `pending`: the
     * events still held (a flush), none for a close, which gives them up.
     */
    function expectOpenFailure(report: FlushReport, message: string, pending?: number): void {
      const result = { emitter: "log", status: "error", error: expect.any(AuditEmitError) };
      expect(report).toStrictEqual(
        pending === undefined
          ? { ok: false, results: [result] }
          : { ok: false, results: [{ ...result, pending }], pending },
      );
      const error = report.results[0]?.error;
      expect(error?.message).toBe(message);
      expect(error?.cause).toMatchObject({ code: "ENXIO" });
    }

    it("makes flush() report status error instead of rejecting, and calls onError", async () => {
      const errors: Error[] = [];
      const emitter = createLogEmitter({ destination: unopenablePath(), onError: (e) => errors.push(e) });
      emitter.emit(sampleEvent());

      expectOpenFailure(await emitter.flush(), "log: flush failed", 1);

      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) {
        expect(error).toBeInstanceOf(AuditEmitError);
        expect(error.message).toBe("log: destination write failed");
        expect(error.cause).toMatchObject({ code: "ENXIO" });
      }
    });

    it("makes close() report status error instead of rejecting, and calls onError", async () => {
      const errors: Error[] = [];
      const emitter = createLogEmitter({ destination: unopenablePath(), onError: (e) => errors.push(e) });
      emitter.emit(sampleEvent());

      expectOpenFailure(
        await emitter.close(),
        "log: close failed: dropped 1 event (destination_failed 1): the destination failed and what it held is given up",
      );

      expect(errors.map((error) => error.message)).toStrictEqual([
        "log: destination write failed",
        "log: close failed: dropped 1 event (destination_failed 1): the destination failed and what it held is given up",
      ]);
      expect(emitter.emit(sampleEvent())).toBe("dropped");
    });

    it("is reported once, refuses later events and counts the event it held as dropped on close()", async () => {
      const errors: Error[] = [];
      const emitter = createLogEmitter({ destination: unopenablePath(), onError: (e) => errors.push(e) });
      emitter.emit(sampleEvent());
      await emitter.flush();

      expect(errors.map((error) => error.message)).toStrictEqual(["log: destination write failed"]);
      expect(emitter.emit(sampleEvent())).toBe("failed");
      await emitter.close();
      expect(emitter.stats()).toStrictEqual({
        name: "log",
        emitted: 1,
        dropped: { destination_failed: 1 },
        failed: 1,
      });
    });

    it("does not count or report again the held lines its timer hands over after the open failed", async () => {
      const errors: Error[] = [];
      const emitter = createLogEmitter({ destination: unopenablePath(), onError: (e) => errors.push(e) });
      for (let i = 0; i < 10; i++) expect(emitter.emit(sampleEvent())).toBe("accepted");
      for (let waited = 0; errors.length === 0 && waited < 2000; waited += 5) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // The batcher's timer hands the held lines to the unopened destination, which throws.
      await new Promise((resolve) => setTimeout(resolve, 2 * BATCH_MAX_WAIT_MS));
      for (let i = 0; i < 10; i++) expect(emitter.emit(sampleEvent())).toBe("failed");
      await emitter.close();

      expect(emitter.stats()).toStrictEqual({
        name: "log",
        emitted: 10,
        dropped: { destination_failed: 10 },
        failed: 10,
      });
      expect(errors.map((error) => error.message)).toStrictEqual([
        "log: destination write failed",
        "log: close failed: dropped 10 events (destination_failed 10): the destination failed and what it held is given up",
      ]);
    });

    it("is still reported by flush() and close() called after the open has failed", async () => {
      const errors: Error[] = [];
      const emitter = createLogEmitter({ destination: unopenablePath(), onError: (e) => errors.push(e) });
      emitter.emit(sampleEvent());
      for (let waited = 0; errors.length === 0 && waited < 2000; waited += 5) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(errors.length).toBeGreaterThan(0); // the open has failed

      const flushed = await within(emitter.flush(), 1000);
      expect(flushed).not.toBe("still pending");
      expect(flushed).toMatchObject({ ok: false, results: [{ emitter: "log", status: "error" }] });

      const closed = await within(emitter.close(), 1000);
      expect(closed).not.toBe("still pending");
      expect(closed).toMatchObject({ ok: false, results: [{ emitter: "log", status: "error" }] });
    });
  });
});
