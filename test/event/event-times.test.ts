// invalidTime names every Timestamp field an event can carry that holds an invalid Date (a time
// protobuf can carry past what a Date holds): found here by walking events with every field set
// (generate-event.ts, which serialize-writer.test.ts holds to the schema), so a Timestamp field added
// to event.proto fails here until invalidTime checks it.
import { describe, expect, it } from "vitest";
import { eventToJson } from "../../src/event/serialize.js";
import { invalidTime } from "../../src/event/time.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { DETAIL_CASES, event, Random } from "./generate-event.js";

/** The path of each Date in `value`, naming a detail by its case ("recordSummary.since"). */
function datePaths(value: unknown, path: string[] = []): string[][] {
  if (value instanceof Date) return [path];
  if (typeof value !== "object" || value === null) return [];
  if ("$case" in value && "value" in value)
    return datePaths(value.value, [...path.slice(0, -1), String(value.$case)]);
  return Object.entries(value).flatMap(([key, inner]) => datePaths(inner, [...path, key]));
}

/** `complete` with the Date at `path` (as datePaths names it) replaced by an invalid one. */
function withInvalidDate(complete: AuditEvent, path: string[]): AuditEvent {
  type Holder = Record<string, unknown> & { detail?: { $case: string; value: Record<string, unknown> } };
  const copy = structuredClone(complete);
  let holder = copy as unknown as Holder;
  for (const key of path.slice(0, -1)) {
    holder = (holder.detail?.$case === key ? holder.detail.value : holder[key]) as Holder;
  }
  holder[path.at(-1) as string] = new Date(Number.NaN);
  return copy;
}

describe("invalidTime", () => {
  const complete = DETAIL_CASES.map((only, i) => event(new Random(i + 1), 0, only));
  const paths = [...new Set(complete.flatMap((e) => datePaths(e).map((p) => p.join("."))))];

  it("finds the event's Timestamp fields", () => {
    expect(paths).toStrictEqual(["occurredAt", "recordSummary.since"]);
  });

  it.each(paths)("names %s holding an invalid Date, on which eventToJson throws", (path) => {
    const owner = complete.find((e) => datePaths(e).some((p) => p.join(".") === path)) as AuditEvent;
    const broken = withInvalidDate(owner, path.split("."));
    expect(() => eventToJson(broken)).toThrow(RangeError);
    expect(invalidTime(broken)).toBe(`the event's ${path} is not a time a JavaScript Date can hold`);
    expect(invalidTime(owner)).toBeUndefined();
  });
});
