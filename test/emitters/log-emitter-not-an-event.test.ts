// The log emitter refuses a value that is not an event as the delivery emitter does: "failed", counted
// and reported, and no line written (a line of `{}` would read back as an empty event, or not at all).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLogEmitter } from "../../src/emitters/log-emitter.js";
import { AuditEmitError, AuditInputError } from "../../src/errors/index.js";
import { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";

const dir = mkdtempSync(join(tmpdir(), "log-not-an-event-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

describe("the log emitter given a value that is not an event", () => {
  it.each([
    ["{}", {}],
    ["[]", []],
    ["a cyclic object", cyclic],
  ])("%s: failed, counted and reported, nothing written", async (label, value) => {
    const path = join(dir, `${label.replace(/\W/g, "_")}.jsonl`);
    const errors: Error[] = [];
    const log = createLogEmitter({ destination: path, sync: true, onError: (error) => errors.push(error) });
    const outcome = log.emit(value as never);
    const stats = log.stats();
    await log.close();
    expect({ outcome, emitted: stats.emitted, failed: stats.failed }).toEqual({
      outcome: "failed",
      emitted: 0,
      failed: 1,
    });
    expect(readFileSync(path, "utf8")).toBe("");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AuditEmitError);
    expect(errors[0]?.message).toBe("log: event not written: it cannot be serialized");
    expect(errors[0]?.cause).toBeInstanceOf(AuditInputError);
  });

  it("still writes the events around it", async () => {
    const path = join(dir, "around.jsonl");
    const log = createLogEmitter({ destination: path, sync: true });
    const event = (eventId: string) => AuditEvent.fromPartial({ eventId, service: "s" });
    expect([log.emit(event("e1")), log.emit({} as AuditEvent), log.emit(event("e2"))]).toEqual([
      "accepted",
      "failed",
      "accepted",
    ]);
    await log.close();
    const ids = readFileSync(path, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line).audit.eventId);
    expect(ids).toEqual(["e1", "e2"]);
  });
});
