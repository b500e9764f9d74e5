import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmitter, type EmitterSpec, isEmitter } from "../../src/emitters/create-emitter.js";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createMultiEmitter } from "../../src/emitters/multi-emitter.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { eventFromJson } from "../../src/event/serialize.js";
import { DETAIL_KINDS, hangingEmitter, sampleEvent, sampleEvents } from "../helpers/events.js";

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-create-"));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Calls createEmitter with a value its type does not allow, as configuration files can. */
const createFromData = (spec: unknown, specPath?: string): Emitter =>
  createEmitter(spec as EmitterSpec, specPath);

describe("createEmitter", () => {
  describe("returns an Emitter it is given unchanged", () => {
    const emitters: [string, () => Emitter][] = [
      ["a memory emitter", () => createMemoryEmitter()],
      ["a multi emitter", () => createMultiEmitter([createNoopEmitter()])],
      ["a user's own emitter object", () => hangingEmitter("own")],
    ];
    for (const [what, build] of emitters) {
      it(what, () => {
        const emitter = build();
        expect(createEmitter(emitter)).toBe(emitter);
      });
    }
  });

  it("builds a log emitter from a spec, passing its options through", async () => {
    const file = path.join(dir, "from-spec.ndjson");
    const events = sampleEvents();

    const emitter = createEmitter({ kind: "log", destination: file, name: "audit-file", key: "event" });

    expect(emitter.name).toBe("audit-file");
    for (const event of events) expect(emitter.emit(event)).toBe("accepted");
    expect(await emitter.close()).toStrictEqual({
      ok: true,
      results: [{ emitter: "audit-file", status: "ok" }],
    });
    const lines = fs
      .readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => eventFromJson(line.event))).toStrictEqual(events);
    expect(lines.some((line) => "kind" in line)).toBe(false);
    expect(emitter.stats()).toStrictEqual({
      name: "audit-file",
      emitted: DETAIL_KINDS.length,
      dropped: {},
      failed: 0,
    });
  });

  it("builds a noop emitter from a spec", async () => {
    const emitter = createEmitter({ kind: "noop" });

    expect(emitter.name).toBe("noop");
    expect(emitter.emit(sampleEvent())).toBe("accepted");
    expect(emitter.stats()).toStrictEqual({ name: "noop", emitted: 1, dropped: {}, failed: 0 });
    expect(await emitter.close()).toStrictEqual({ ok: true, results: [{ emitter: "noop", status: "ok" }] });
    expect(emitter.emit(sampleEvent())).toBe("dropped");
  });

  it("builds a named noop emitter from a spec", () => {
    const emitter = createEmitter({ kind: "noop", name: "quiet" });

    emitter.emit(sampleEvent());

    expect(emitter.stats()).toStrictEqual({ name: "quiet", emitted: 1, dropped: {}, failed: 0 });
  });

  it("throws an AuditConfigError naming the path and the known kinds for an unknown kind", () => {
    const build = () => createFromData({ kind: "kafka", brokers: ["localhost:9092"] }, "emitters[2]");

    expect(build).toThrow(AuditConfigError);
    expect(build).toThrow(new AuditConfigError('emitters[2]: unknown kind "kafka"; known kinds: log, noop'));
  });

  it('names the path "emitter" by default', () => {
    expect(() => createFromData({ kind: "sqlite" })).toThrow(
      new AuditConfigError('emitter: unknown kind "sqlite"; known kinds: log, noop'),
    );
  });

  describe("throws an AuditConfigError for a spec that is neither an Emitter nor an object with a kind", () => {
    const specs: [string, unknown][] = [
      ["a string", "log"],
      ["a number", 42],
      ["null", null],
      ["undefined", undefined],
      ["an object without kind", { destination: "/tmp/audit.ndjson" }],
      ["an object with only part of the Emitter methods", { name: "half", emit: () => "accepted" }],
    ];
    for (const [what, spec] of specs) {
      it(`for ${what}`, () => {
        const build = () => createFromData(spec, "audit.emitters[0]");
        expect(build).toThrow(AuditConfigError);
        expect(build).toThrow(
          new AuditConfigError(
            "audit.emitters[0]: must be an Emitter or an object with a `kind` (log, noop)",
          ),
        );
      });
    }
  });

  it("prefixes a log emitter's configuration error with the path and keeps it as the cause", () => {
    let thrown: unknown;
    try {
      createFromData({ kind: "log" }, "emitters[0]");
    } catch (error) {
      thrown = error;
    }

    expect(thrown).toStrictEqual(
      new AuditConfigError(
        "emitters[0]: log emitter: needs a pino `logger` or a `destination` (path, fd or stream)",
      ),
    );
    expect(thrown).toBeInstanceOf(AuditConfigError);
    expect((thrown as Error).cause).toStrictEqual(
      new AuditConfigError("log emitter: needs a pino `logger` or a `destination` (path, fd or stream)"),
    );
  });

  // Before the fix: "unknown kind undefined" (JSON.stringify of a symbol) and a silently ignored `nmae`.
  it("names a kind that is no string, and refuses a misspelt noop option", () => {
    expect(() => createFromData({ kind: Symbol("log") })).toThrow(
      new AuditConfigError("emitter: unknown kind symbol; known kinds: log, noop"),
    );
    expect(() => createFromData({ kind: "noop", nmae: "x" })).toThrow(
      new AuditConfigError("emitter: noop emitter: unknown option `nmae` (did you mean `name`?)"),
    );
    expect(() => createFromData({ kind: "log", destination: 1, maxBufferBytes: 1 })).toThrow(
      new AuditConfigError(
        "emitter: log emitter: unknown option `maxBufferBytes` (did you mean `maxBufferedBytes`?)",
      ),
    );
  });

  // Before the fix: a spec-built log emitter had no onError, so the Recorder's never heard of its failures.
  it("gives a spec-built log emitter the onError it is passed, unless the spec has its own", () => {
    const stuck = () => new Writable({ write() {}, highWaterMark: 16 }); // never completes a write
    const heard: string[] = [];
    const own: string[] = [];
    const fromSpec = createEmitter(
      { kind: "log", destination: stuck(), maxBufferedBytes: 64 },
      "emitter",
      (error) => heard.push(error.message),
    );
    const withOwn = createEmitter(
      {
        kind: "log",
        destination: stuck(),
        maxBufferedBytes: 64,
        onError: (error) => own.push(error.message),
      },
      "emitter",
      (error) => heard.push(error.message),
    );
    for (const emitter of [fromSpec, withOwn]) {
      expect([emitter.emit(sampleEvent()), emitter.emit(sampleEvent())]).toStrictEqual([
        "accepted",
        "dropped",
      ]);
    }
    const overload =
      "log: dropping events (buffer_full): 64 bytes wait for a destination that does not keep up; counted in stats() until it catches up";
    expect({ heard, own }).toStrictEqual({ heard: [overload], own: [overload] });
  });

  it("rethrows errors that are not configuration errors unchanged", () => {
    const spec = {
      kind: "log",
      get destination(): string {
        throw new RangeError("getter exploded");
      },
    };

    expect(() => createFromData(spec)).toThrow(new RangeError("getter exploded"));
    expect(() => createFromData(spec)).not.toThrow(AuditConfigError);
  });
});

describe("isEmitter", () => {
  it("accepts objects with a name and every Emitter method", () => {
    expect(isEmitter(createNoopEmitter())).toBe(true);
    expect(isEmitter(hangingEmitter())).toBe(true);
  });

  it("rejects specs, partial emitters and non-objects", () => {
    const { stats: _stats, ...withoutStats } = createNoopEmitter();
    expect(isEmitter({ kind: "noop" })).toBe(false);
    expect(isEmitter(withoutStats)).toBe(false);
    expect(isEmitter({ ...createNoopEmitter(), name: 1 })).toBe(false);
    expect(isEmitter(null)).toBe(false);
    expect(isEmitter("noop")).toBe(false);
  });
});
