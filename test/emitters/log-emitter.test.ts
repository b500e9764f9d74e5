import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createLogEmitter, type LogEmitterOptions } from "../../src/emitters/log-emitter.js";
import { AuditConfigError, AuditEmitError } from "../../src/errors/index.js";
import { EVENT_KIND } from "../../src/event/kinds.js";
import { eventFromJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { SAMPLE_IDS, sampleEvent, sampleEvents } from "../helpers/events.js";

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-log-"));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The JSON lines of a file, parsed. */
function readLines(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Emits `count` copies of the sample event with ids "evt-0", "evt-1", ... in one synchronous loop. */
function emitMany(emitter: Emitter, count: number): void {
  const base = sampleEvent();
  for (let i = 0; i < count; i++) {
    const outcome = emitter.emit({ ...base, eventId: `evt-${i}` });
    if (outcome !== "accepted") throw new Error(`event ${i} was ${outcome}`);
  }
}

/** Asserts the file holds exactly the lines of emitMany(count), each id once, in order. */
function expectAllInOrder(file: string, count: number): void {
  const ids = fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (JSON.parse(line) as { audit: { eventId: string } }).audit.eventId);
  expect(ids.length).toBe(count);
  const expected = Array.from({ length: count }, (_, i) => `evt-${i}`);
  // Compare in one pass rather than with a 100,000-element diff on failure.
  const firstMismatch = ids.findIndex((id, i) => id !== expected[i]);
  expect(firstMismatch).toBe(-1);
  expect(new Set(ids).size).toBe(count);
}

/** A pino logger whose stream throws on every write. */
function throwingLogger(message = "disk full"): pino.Logger {
  const stream = new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  stream.write = () => {
    throw new Error(message);
  };
  return pino(stream);
}

describe("createLogEmitter", () => {
  describe("writes one line per event that reads back as the same event", () => {
    for (const event of sampleEvents()) {
      const kind = event.detail?.$case ?? "none";
      it(`for a ${kind} event`, async () => {
        const file = path.join(dir, "audit.ndjson");
        const emitter = createLogEmitter({ destination: file });

        expect(emitter.emit(event)).toBe("accepted");
        expect(await emitter.close()).toStrictEqual({ ok: true, results: [{ emitter: "log", status: "ok" }] });

        const lines = readLines(file);
        expect(lines).toHaveLength(1);
        const [line] = lines;
        expect(eventFromJson(line?.audit)).toStrictEqual(event);
        expect(line?.msg).toBe(
          {
            authn: EVENT_KIND.AUTHN_RESULT,
            authz: EVENT_KIND.AUTHZ_DECISION,
            tupleChange: EVENT_KIND.TUPLE_CHANGE,
            resourceMutation: EVENT_KIND.RESOURCE_MUTATION,
            none: "none",
          }[kind],
        );
        expect(line?.level).toBe(30);
        expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 1, dropped: {}, failed: 0 });
      });
    }
  });

  it("writes every kind to one file, in emit order, at the configured level and key", async () => {
    const file = path.join(dir, "nested", "deeper", "audit.ndjson");
    const events = sampleEvents();
    const emitter = createLogEmitter({ destination: file, level: "warn", key: "event", name: "audit-log" });

    for (const event of events) expect(emitter.emit(event)).toBe("accepted");
    expect(await emitter.close()).toStrictEqual({
      ok: true,
      results: [{ emitter: "audit-log", status: "ok" }],
    });

    const lines = readLines(file);
    expect(lines.map((line) => eventFromJson(line.event))).toStrictEqual(events);
    expect(lines.map((line) => [line.level, line.msg, "audit" in line])).toStrictEqual([
      [40, "authn.result", false],
      [40, "authz.decision", false],
      [40, "tuple.change", false],
      [40, "resource.mutation", false],
    ]);
    expect(emitter.stats()).toStrictEqual({ name: "audit-log", emitted: 4, dropped: {}, failed: 0 });
  });

  it("writes to the user's logger, with the logger's own fields, and leaves it open after close", async () => {
    const file = path.join(dir, "audit.ndjson");
    const destination = pino.destination({ dest: file, sync: true });
    const logger = pino({ base: { app: "projects" } }, destination);
    const event = sampleEvent({ kind: "tupleChange" });
    const emitter = createLogEmitter({ logger });

    expect(emitter.emit(event)).toBe("accepted");
    expect((await emitter.close()).ok).toBe(true);
    logger.info("still open");
    destination.flushSync();

    const lines = readLines(file);
    expect(lines.map((line) => [line.app, line.msg])).toStrictEqual([
      ["projects", "tuple.change"],
      ["projects", "still open"],
    ]);
    expect(eventFromJson(lines[0]?.audit)).toStrictEqual(event);
  });

  it("flush writes out buffered events without closing", async () => {
    const file = path.join(dir, "audit.ndjson");
    const emitter = createLogEmitter({ destination: file });
    const [first, second] = sampleEvents() as [AuditEvent, AuditEvent];

    emitter.emit(first);
    expect(await emitter.flush()).toStrictEqual({ ok: true, results: [{ emitter: "log", status: "ok" }] });
    expect(readLines(file).map((line) => eventFromJson(line.audit))).toStrictEqual([first]);

    emitter.emit(second);
    expect(await emitter.flush()).toStrictEqual({ ok: true, results: [{ emitter: "log", status: "ok" }] });
    expect(readLines(file).map((line) => eventFromJson(line.audit))).toStrictEqual([first, second]);
    await emitter.close();
  });

  describe("close() loses nothing emitted synchronously just before it", () => {
    const COUNT = 100_000;

    it("with a destination path it owns (asynchronous sonic-boom)", async () => {
      const file = path.join(dir, "audit.ndjson");
      const emitter = createLogEmitter({ destination: file });

      emitMany(emitter, COUNT);
      expect((await emitter.close()).ok).toBe(true);

      expectAllInOrder(file, COUNT);
      expect(emitter.stats()).toStrictEqual({ name: "log", emitted: COUNT, dropped: {}, failed: 0 });
    });

    it("with the user's logger on an asynchronous pino.destination", async () => {
      const file = path.join(dir, "audit.ndjson");
      const logger = pino(pino.destination({ dest: file, sync: false }));
      const emitter = createLogEmitter({ logger });

      emitMany(emitter, COUNT);
      expect((await emitter.close()).ok).toBe(true);

      expectAllInOrder(file, COUNT);
      expect(emitter.stats()).toStrictEqual({ name: "log", emitted: COUNT, dropped: {}, failed: 0 });
    });
  });

  describe("rejects bad configuration with an AuditConfigError", () => {
    const cases: [string, () => LogEmitterOptions, string][] = [
      [
        "neither logger nor destination",
        () => ({}),
        "log emitter: needs a pino `logger` or a `destination` (path, fd or stream)",
      ],
      [
        "both logger and destination",
        () => ({ logger: pino({ enabled: true }, devNull()), destination: path.join(dir, "a.log") }),
        "log emitter: give either `logger` or `destination`, not both",
      ],
      ["an empty destination", () => ({ destination: "" }), "log emitter: `destination` must not be empty"],
      [
        "a logger that is not a pino logger",
        () => ({ logger: { info: () => {} } as unknown as pino.Logger }),
        "log emitter: `logger` must be a pino logger",
      ],
      [
        "an unknown level",
        () => ({ logger: pino(devNull()), level: "verbose" as pino.Level }),
        "log emitter: level must be one of fatal, error, warn, info, debug, trace, got verbose",
      ],
      [
        "a logger whose level discards the events",
        () => ({ logger: pino({ level: "warn" }, devNull()) }),
        'log emitter: the logger\'s level "warn" discards audit events written at "info"',
      ],
      [
        "options that are not an object",
        () => null as unknown as LogEmitterOptions,
        "log emitter: options must be an object with a `logger` or a `destination`",
      ],
    ];
    for (const [what, options, message] of cases) {
      it(`for ${what}`, () => {
        const build = () => createLogEmitter(options());
        expect(build).toThrow(AuditConfigError);
        expect(build).toThrow(new AuditConfigError(message));
      });
    }
  });

  it("drops and counts events emitted after close", async () => {
    const file = path.join(dir, "audit.ndjson");
    const emitter = createLogEmitter({ destination: file });
    const [first, second] = sampleEvents() as [AuditEvent, AuditEvent];

    expect(emitter.emit(first)).toBe("accepted");
    await emitter.close();
    expect(emitter.emit(second)).toBe("dropped");
    expect(emitter.emit(second)).toBe("dropped");

    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 1, dropped: { closed: 2 }, failed: 0 });
    expect(readLines(file).map((line) => eventFromJson(line.audit))).toStrictEqual([first]);
    expect(await emitter.close()).toStrictEqual({ ok: true, results: [{ emitter: "log", status: "ok" }] });
  });

  it("drops events as level_disabled when the user's logger level is raised after construction", async () => {
    const file = path.join(dir, "audit.ndjson");
    const logger = pino(pino.destination({ dest: file, sync: true }));
    const emitter = createLogEmitter({ logger });
    const [first, second, third] = sampleEvents() as [AuditEvent, AuditEvent, AuditEvent];

    expect(emitter.emit(first)).toBe("accepted");
    logger.level = "error";
    expect(emitter.emit(second)).toBe("dropped");
    logger.level = "info";
    expect(emitter.emit(third)).toBe("accepted");
    await emitter.close();

    expect(emitter.stats()).toStrictEqual({
      name: "log",
      emitted: 2,
      dropped: { level_disabled: 1 },
      failed: 0,
    });
    expect(readLines(file).map((line) => eventFromJson(line.audit))).toStrictEqual([first, third]);
  });

  it("returns failed, counts and reports an AuditEmitError without event content when the stream throws", () => {
    const errors: Error[] = [];
    const emitter = createLogEmitter({ logger: throwingLogger("disk full"), onError: (e) => errors.push(e) });
    const event = sampleEvent({ kind: "authn" });

    expect(emitter.emit(event)).toBe("failed");
    expect(emitter.emit(event)).toBe("failed");

    expect(emitter.stats()).toStrictEqual({ name: "log", emitted: 0, dropped: {}, failed: 2 });
    expect(errors).toHaveLength(2);
    const [error] = errors;
    expect(error).toBeInstanceOf(AuditEmitError);
    expect(error).toMatchObject({ name: "AuditEmitError", emitter: "log", message: "log: write failed" });
    expect(error?.cause).toStrictEqual(new Error("disk full"));
    const text = `${error?.message} ${String(error?.stack)}`;
    for (const secret of [event.eventId, "alice@example.com", "user-7", "jwt", event.requestId]) {
      expect(text).not.toContain(secret);
    }
  });

  it("keeps counting when the onError hook itself throws", () => {
    const emitter = createLogEmitter({
      logger: throwingLogger(),
      onError: () => {
        throw new Error("hook exploded");
      },
    });
    expect(emitter.emit(sampleEvent())).toBe("failed");
    expect(emitter.stats().failed).toBe(1);
  });

  describe("reports a destination that cannot be opened instead of rejecting", () => {
    function unopenablePath(): string {
      const blocker = path.join(dir, "not-a-directory");
      fs.writeFileSync(blocker, "");
      return path.join(blocker, "sub", "audit.ndjson");
    }

    it("from flush()", async () => {
      const errors: Error[] = [];
      const emitter = createLogEmitter({ destination: unopenablePath(), onError: (e) => errors.push(e) });
      emitter.emit(sampleEvent());

      const report = await emitter.flush();

      expect(report.ok).toBe(false);
      expect(report.results).toHaveLength(1);
      expect(report.results[0]).toMatchObject({ emitter: "log", status: "error" });
      expect(report.results[0]?.error).toBeInstanceOf(AuditEmitError);
      expect(report.results[0]?.error?.message).toBe("log: flush failed");
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(AuditEmitError);
      expect(errors[0]?.message).toBe("log: destination write failed");
      expect((errors[0]?.cause as NodeJS.ErrnoException).code).toMatch(/^(ENOTDIR|EEXIST)$/);
    });

    it("from close()", async () => {
      const errors: Error[] = [];
      const emitter = createLogEmitter({ destination: unopenablePath(), onError: (e) => errors.push(e) });
      emitter.emit(sampleEvent());

      const report = await emitter.close();

      expect(report.ok).toBe(false);
      expect(report.results[0]).toMatchObject({ emitter: "log", status: "error" });
      expect(report.results[0]?.error).toBeInstanceOf(AuditEmitError);
      expect(errors.map((e) => e.message)).toStrictEqual(["log: destination write failed"]);
      expect(emitter.stats().failed).toBe(1);
      expect(emitter.emit(sampleEvent())).toBe("dropped");
    });

    it("when flush() is called after the open has already failed", async () => {
      const errors: Error[] = [];
      const emitter = createLogEmitter({ destination: unopenablePath(), onError: (e) => errors.push(e) });
      emitter.emit(sampleEvent());
      await waitUntil(() => errors.length > 0);

      const report = await emitter.flush();

      expect(report.ok).toBe(false);
      expect(report.results[0]).toMatchObject({ emitter: "log", status: "error" });
    });
  });
});

/** A pino destination that discards everything. */
function devNull(): pino.DestinationStream {
  return { write: () => {} };
}

async function waitUntil(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

void SAMPLE_IDS;
