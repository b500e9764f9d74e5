/**
 * Every emitter factory checks its options when it is created and throws an AuditConfigError naming
 * the option: a sink list holding something that is not an emitter was taken by the multi emitter (its
 * stats() then threw a TypeError), null options threw a bare TypeError, and the log emitter took a
 * negative or fractional descriptor, an empty key or name, an onError that is not a function and a
 * sync that is not a boolean (pino took "yes" as true).
 */
import { Writable } from "node:stream";
import pino, { type DestinationStream } from "pino";
import { describe, expect, it } from "vitest";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createLogEmitter, type LogEmitterOptions } from "../../src/emitters/log-emitter.js";
import { createMemoryEmitter, type MemoryEmitterOptions } from "../../src/emitters/memory-emitter.js";
import { createMultiEmitter, type MultiEmitterOptions } from "../../src/emitters/multi-emitter.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";

/** A destination stream that takes every line (no file is opened by these cases). */
const devNull = (): DestinationStream => new Writable({ write: (_chunk, _encoding, done) => done() });

function expectConfigError(build: () => unknown, message: string): void {
  expect(build).toThrow(AuditConfigError);
  expect(build).toThrow(new AuditConfigError(message));
}

describe("emitter options are checked at construction", () => {
  describe("multi emitter", () => {
    const noop = createNoopEmitter();
    const cases: [string, () => unknown, string][] = [
      [
        "a sink that is null",
        () => createMultiEmitter([noop, null as unknown as Emitter]),
        "multi emitter: sinks[1] must be an Emitter (with name, emit, flush, close and stats)",
      ],
      [
        "a sink without stats()",
        () => createMultiEmitter([{ name: "x", emit: () => "accepted" } as unknown as Emitter]),
        "multi emitter: sinks[0] must be an Emitter (with name, emit, flush, close and stats)",
      ],
      [
        "options that are null",
        () => createMultiEmitter([noop], null as unknown as MultiEmitterOptions),
        "multi emitter: options must be an object",
      ],
      [
        "an empty name",
        () => createMultiEmitter([noop], { name: "" }),
        'multi emitter: name must be a non-empty string, got ""',
      ],
      [
        "an onError that is not a function",
        () => createMultiEmitter([noop], { onError: "x" as unknown as () => void }),
        'multi emitter: onError must be a function, got "x"',
      ],
    ];
    for (const [what, build, message] of cases)
      it(`refuses ${what}`, () => expectConfigError(build, message));
  });

  describe("memory and noop emitters", () => {
    const cases: [string, () => unknown, string][] = [
      [
        "memory options that are null",
        () => createMemoryEmitter(null as unknown as MemoryEmitterOptions),
        "memory emitter: options must be an object",
      ],
      [
        "an empty memory emitter name",
        () => createMemoryEmitter({ name: "" }),
        'memory emitter: name must be a non-empty string, got ""',
      ],
      [
        "noop options that are null",
        () => createNoopEmitter(null as unknown as { name?: string }),
        "noop emitter: options must be an object",
      ],
      [
        "a noop emitter name that is not a string",
        () => createNoopEmitter({ name: 7 as unknown as string }),
        "noop emitter: name must be a non-empty string, got 7",
      ],
    ];
    for (const [what, build, message] of cases)
      it(`refuses ${what}`, () => expectConfigError(build, message));
  });

  describe("log emitter", () => {
    const destinationMessage = (got: string) =>
      `log emitter: destination must be a path, a file descriptor (a whole number ≥ 0) or a stream, got ${got}`;
    const cases: [string, () => LogEmitterOptions, string][] = [
      ["a negative descriptor", () => ({ destination: -1 }), destinationMessage("-1")],
      ["a fractional descriptor", () => ({ destination: 1.5 }), destinationMessage("1.5")],
      ["a descriptor that is NaN", () => ({ destination: Number.NaN }), destinationMessage("NaN")],
      [
        "an empty key",
        () => ({ destination: devNull(), key: "" }),
        'log emitter: key must be a non-empty string, got ""',
      ],
      [
        "an empty name",
        () => ({ destination: devNull(), name: "" }),
        'log emitter: name must be a non-empty string, got ""',
      ],
      [
        "an onError that is not a function",
        () => ({ destination: devNull(), onError: "x" as unknown as () => void }),
        'log emitter: onError must be a function, got "x"',
      ],
      [
        "a sync that is not a boolean",
        () => ({ destination: 1, sync: "yes" as unknown as boolean }),
        'log emitter: sync must be true or false, got "yes"',
      ],
    ];
    for (const [what, options, message] of cases) {
      it(`refuses ${what}`, () => expectConfigError(() => createLogEmitter(options()), message));
    }

    // Before the fix: accepted; with "msg" each line held the key twice and the event could not be
    // read back ("1 log line without an event"), "time" and "level" shadowed pino's fields.
    it.each(["msg", "time", "level", "pid", "hostname", "err"])(
      "refuses pino's own field %s as key",
      (key) => {
        expectConfigError(
          () => createLogEmitter({ destination: devNull(), key }),
          `log emitter: key "${key}" is one of pino's own fields (msg, time, level, pid, hostname, err): each line would hold it twice and the event could not be read back; choose another, such as "audit"`,
        );
      },
    );

    it("refuses a given logger's own message key, and takes a key pino does not use", () => {
      const logger = pino({ messageKey: "message" }, devNull());
      expectConfigError(
        () => createLogEmitter({ logger, key: "message" }),
        `log emitter: key "message" is one of pino's own fields (msg, time, level, pid, hostname, err, message): each line would hold it twice and the event could not be read back; choose another, such as "audit"`,
      );
      expect(createLogEmitter({ logger, key: "event" }).name).toBe("log");
    });
  });

  // Before the fix: every one of these was accepted, and the setting never applied.
  describe("unknown option names", () => {
    const noop = createNoopEmitter();
    const cases: [string, () => unknown, string][] = [
      [
        "log emitter maxBufferBytes",
        () => createLogEmitter({ destination: devNull(), maxBufferBytes: 1 } as LogEmitterOptions),
        "log emitter: unknown option `maxBufferBytes` (did you mean `maxBufferedBytes`?)",
      ],
      [
        "memory emitter capacty",
        () => createMemoryEmitter({ capacty: 5 } as MemoryEmitterOptions),
        "memory emitter: unknown option `capacty` (did you mean `capacity`?)",
      ],
      [
        "noop emitter Name",
        () => createNoopEmitter({ Name: "x" } as { name?: string }),
        "noop emitter: unknown option `Name` (did you mean `name`?)",
      ],
      [
        "multi emitter flushTimeout",
        () => createMultiEmitter([noop], { flushTimeout: 5 } as MultiEmitterOptions),
        "multi emitter: unknown option `flushTimeout` (did you mean `flushTimeoutMs`?)",
      ],
    ];
    for (const [what, build, message] of cases)
      it(`refuses ${what}`, () => expectConfigError(build, message));
  });

  // Before the fix: accepted; each event went to the one emitter twice.
  it("refuses the same emitter twice in a multi emitter", () => {
    const noop = createNoopEmitter();
    expectConfigError(
      () => createMultiEmitter([createNoopEmitter(), noop, noop]),
      "multi emitter: sinks[2] is sinks[1] again: give each emitter once",
    );
  });
});
