import { describe, expect, it } from "vitest";
import { formatEventTable } from "../../src/cli/format.js";
import { formatStats } from "../../src/cli/format-stats.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";

const ROWS = 200_000;
const T0 = Date.parse("2026-01-01T00:00:00.000Z");

/** Recorded events, as `query --all` reads them back; the last one has the longest actor id. */
function recordedEvents(): AuditEvent[] {
  const memory = createMemoryEmitter();
  let n = 0;
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    now: () => new Date(T0 + n++ * 1000),
  });
  recorder.recordAuthnResult({
    operation: "/example.v1.ProjectService/Get",
    actor: { id: "alice" },
    method: "jwt",
    success: true,
  });
  recorder.recordAuthnResult({
    operation: "/example.v1.ProjectService/Get",
    actor: { id: "a-much-longer-actor-id" },
    method: "jwt",
    success: true,
  });
  return memory.events as AuditEvent[];
}

describe("tables of many rows", () => {
  it("formats 200,000 events, each column as wide as its widest cell (the last row's)", () => {
    const [short, long] = recordedEvents();
    if (short === undefined || long === undefined) throw new Error("the recorder recorded no events");
    const events = Array.from({ length: ROWS }, (_, i) => (i === ROWS - 1 ? long : short));
    const lines = formatEventTable(events).split("\n");
    expect(lines).toHaveLength(ROWS + 2);
    const actorStart = lines[0]?.indexOf("actor") ?? -1;
    const operationStart = lines[0]?.indexOf("operation") ?? -1;
    expect(operationStart - actorStart).toBe("a-much-longer-actor-id".length + 2);
    expect(lines[ROWS + 1]).toContain("a-much-longer-actor-id  Get");
  });

  it("formats stats with 200,000 hours", () => {
    const perHour = Array.from({ length: ROWS }, (_, i) => ({
      hour: new Date(T0 + i * 3_600_000).toISOString(),
      count: i === 0 ? 1_234_567 : 1,
    }));
    const text = formatStats({
      total: ROWS,
      byType: {},
      byResult: {},
      byDecision: {},
      topOperations: [],
      perHour,
    });
    const hours = text.split("\n\n").at(-1)?.split("\n") ?? [];
    expect(hours).toHaveLength(ROWS + 2);
    expect(hours[0]).toBe("hour (UTC)        count");
    expect(hours[2]).toBe("2026-01-01 00:00  1234567");
    expect(hours.at(-1)).toBe(
      `${new Date(T0 + (ROWS - 1) * 3_600_000).toISOString().slice(0, 13).replace("T", " ")}:00  1`,
    );
  });
});
