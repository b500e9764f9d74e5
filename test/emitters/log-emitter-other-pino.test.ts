import { once } from "node:events";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { sampleEvent } from "../helpers/events.js";

// The app's own `npm install pino` gives it another copy of pino than grpc-audit's once their versions
// differ. Here the second copy is this repository's pino copied at test time into a temporary
// directory (its own dependencies, sonic-boom and the rest, resolve to this repository's through a
// node_modules link): loaded from another path, it is another module instance, with its own symbols.
let root: string;
let dir: string;
let otherPino: typeof pino;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-other-pino-"));
  const repoModules = path.resolve("node_modules");
  fs.cpSync(path.join(repoModules, "pino"), path.join(root, "copy", "pino"), { recursive: true });
  fs.symlinkSync(repoModules, path.join(root, "node_modules"), "dir");
  otherPino = createRequire(import.meta.url)(path.join(root, "copy", "pino")) as typeof pino;
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(root, "test-"));
});

function emitMany(emitter: Emitter, count: number): string[] {
  const accepted: string[] = [];
  for (let i = 0; i < count; i++) {
    const eventId = `evt-${i}`;
    if (emitter.emit({ ...sampleEvent(), eventId }) === "accepted") accepted.push(eventId);
  }
  return accepted;
}

function idsIn(text: string): string[] {
  const lines = text.split("\n").slice(0, -1);
  return lines.map((line) => (JSON.parse(line) as { audit: { eventId: string } }).audit.eventId);
}

const ids = (count: number) => Array.from({ length: count }, (_, i) => `evt-${i}`);

describe("a logger made by another copy of pino", () => {
  it("is another module instance, whose symbols are not ours", () => {
    expect(otherPino).not.toBe(pino);
    expect(otherPino.symbols.streamSym).not.toBe(pino.symbols.streamSym);
    expect(otherPino.symbols.streamSym.description).toBe(pino.symbols.streamSym.description);
  });

  for (const kind of ["logger", "child logger"] as const) {
    it(`flush() waits until its asynchronous pino.destination has written every line (${kind})`, async () => {
      const file = path.join(dir, "audit.ndjson");
      // pino's own flush(cb) on it calls back at once, while the lines still wait to be written.
      const destination = otherPino.destination({ dest: file, sync: false });
      await once(destination, "ready");
      const parent = otherPino(destination);
      const logger = kind === "logger" ? parent : parent.child({ component: "audit" });
      const emitter = createLogEmitter({ logger });
      expect(emitMany(emitter, 1000)).toStrictEqual(ids(1000));

      expect(await emitter.flush()).toStrictEqual({ ok: true, results: [{ emitter: "log", status: "ok" }] });
      expect(idsIn(fs.readFileSync(file, "utf8"))).toStrictEqual(ids(1000));
      expect((await emitter.close()).ok).toBe(true);
      destination.end();
      await once(destination, "close");
    });
  }

  it("bounds the backlog of its asynchronous pino.destination by maxBufferedBytes", async () => {
    const file = path.join(dir, "audit.ndjson");
    const destination = otherPino.destination({ dest: file, sync: false });
    await once(destination, "ready");
    const EVENTS = 5000; // ~5 MB of lines, written in one go: far more than the limit waits at once
    const emitter = createLogEmitter({ logger: otherPino(destination), maxBufferedBytes: 256 * 1024 });

    const accepted = emitMany(emitter, EVENTS);
    expect((await emitter.close()).ok).toBe(true);
    destination.end();
    await once(destination, "close");

    const { emitted, dropped } = emitter.stats();
    expect(emitted).toBe(accepted.length);
    expect(dropped.buffer_full).toBeGreaterThan(0);
    expect(emitted + (dropped.buffer_full ?? 0)).toBe(EVENTS);
    expect(idsIn(fs.readFileSync(file, "utf8"))).toStrictEqual(accepted);
  });

  it("refuses a key that is its message key", () => {
    const logger = otherPino({ messageKey: "audit" }, { write: () => {} });
    expect(() => createLogEmitter({ logger })).toThrow(
      new AuditConfigError(
        'log emitter: key "audit" is one of pino\'s own fields (msg, time, level, pid, hostname, err, audit): each line would hold it twice and the event could not be read back; choose another, such as "audit"',
      ),
    );
  });
});

it("throws an AuditConfigError for a logger without a pino destination stream", () => {
  // Looks like a pino logger, but flush() could not wait for its lines: refused, never reported ok.
  const logger = {
    level: "info",
    isLevelEnabled: () => true,
    info: () => {},
    flush: (cb: () => void) => cb(),
  };
  expect(() => createLogEmitter({ logger: logger as unknown as pino.Logger })).toThrow(
    new AuditConfigError(
      "log emitter: `logger` has no pino destination stream (no `pino.stream` field): give a pino logger or a `destination`",
    ),
  );
});
