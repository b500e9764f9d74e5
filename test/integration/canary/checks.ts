/**
 * Checks of the canary fuzz on what the calls made: that canaries went into every shape, and that each
 * call left the events it should, with what is not sensitive intact.
 */
import { expect } from "vitest";
import { ACCESS_METHODS, type FuzzCall, NAMED_METHODS, REDACTED_METHODS } from "./fuzz-calls.js";
import type { Marks } from "./scan.js";

/** How many canaries each shape got: in calls that pass authn, and in every token. */
export function placedShapes(marks: Marks, calls: readonly FuzzCall[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const where of marks.placed.values()) {
    const call = /^call (\d+) /.exec(where)?.[1];
    if (call !== undefined && calls[Number(call)]?.authenticated !== true) continue;
    const shape = where.replace(/^call \d+ \w+(?: request \d+)?: /, "").replace(/\[\d+\]/g, "[]");
    counts.set(shape, (counts.get(shape) ?? 0) + 1);
  }
  return counts;
}

/** The parts of a stored event (proto3 JSON) the per-call checks read. */
export interface StoredEvent {
  eventType: string;
  requestId: string;
  target?: { id?: string };
  result?: { success?: boolean; message?: string };
  attributes?: Record<string, string>;
  payload?: { requestJson?: string };
}

/** Each call's events by request id: their kinds, results, targets, attributes and status messages. */
export function checkEventsOfEachCall(calls: readonly FuzzCall[], events: readonly StoredEvent[]): void {
  const byRequest = new Map<string, StoredEvent[]>();
  for (const event of events)
    byRequest.set(event.requestId, [...(byRequest.get(event.requestId) ?? []), event]);
  const problems: string[] = [];
  for (const call of calls) {
    const [authn, ruled, ...extra] = [...(byRequest.get(call.requestId) ?? [])].sort((a, b) =>
      a.eventType === "EVENT_TYPE_AUTHN_RESULT" ? -1 : b.eventType === "EVENT_TYPE_AUTHN_RESULT" ? 1 : 0,
    );
    const where = `call ${call.index} ${call.method}`;
    if (authn?.eventType !== "EVENT_TYPE_AUTHN_RESULT" || extra.length > 0) problems.push(`${where}: events`);
    if ((authn?.result?.success ?? false) !== call.authenticated) problems.push(`${where}: authn result`);
    if (!call.authenticated) {
      if (ruled !== undefined) problems.push(`${where}: a refused call has a rule event`);
      continue;
    }
    const kind = ACCESS_METHODS.has(call.method) ? "ACCESS" : "MUTATION";
    if (ruled?.eventType !== `EVENT_TYPE_RESOURCE_${kind}`) problems.push(`${where}: no ${kind} event`);
    if ((ruled?.result?.success ?? false) === call.fails) problems.push(`${where}: result`);
    if (NAMED_METHODS.has(call.method) && ruled?.target?.id !== call.name)
      problems.push(`${where}: target id`);
    const attributes = ruled?.attributes ?? {};
    if (attributes.detail !== "[redacted]" || attributes.marker !== call.attributePlain)
      problems.push(`${where}: attributes ${JSON.stringify(Object.keys(attributes))}`);
    // A failure's message is kept (redacted, then cut to 256 bytes), except ReadSecret's, whose rule omits it.
    const message = ruled?.result?.message ?? "";
    const kept = call.fails && call.method !== "readSecret";
    if (kept ? message === "" || message.includes("password=") : message !== "")
      problems.push(`${where}: status message ${JSON.stringify(message.slice(-60))}`);
    const json = ruled?.payload?.requestJson ?? "";
    if (REDACTED_METHODS.has(call.method) && call.firstRequestPlains.some((plain) => !json.includes(plain)))
      problems.push(`${where}: request JSON misses a plain field`);
  }
  expect(problems.slice(0, 10)).toStrictEqual([]);
}
