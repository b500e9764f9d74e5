/** Shared pieces of the delivery pipeline tests. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { type DetailKind, sampleEvent } from "../helpers/events.js";

/** `count` complete sample events of `kind` with the ids `<prefix>-001`, `<prefix>-002`, ... */
export function numberedEvents(count: number, kind: DetailKind = "authz", prefix = "e"): AuditEvent[] {
  return Array.from({ length: count }, (_, i) => sampleEvent({ kind, eventId: id(i + 1, prefix) }));
}

/** The `n`th numbered event (1-based) of `kind`. */
export function numberedEvent(n: number, kind: DetailKind = "authz", prefix = "e"): AuditEvent {
  return sampleEvent({ kind, eventId: id(n, prefix) });
}

/** The id numberedEvents gives its `n`th event (1-based). */
export function id(n: number, prefix = "e"): string {
  return `${prefix}-${String(n).padStart(3, "0")}`;
}

/** Ids `from` to `to` (inclusive). */
export function ids(from: number, to: number, prefix = "e"): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => id(from + i, prefix));
}

/** Encoded size of every numbered sample event of `kind` (they all have the same size). */
export function eventSize(kind: DetailKind = "authz"): number {
  return encodeEvent(numberedEvent(1, kind)).length;
}

/** Collects what an emitter reports through onError. */
export function errorCollector(): { errors: Error[]; onError: (error: Error) => void } {
  const errors: Error[] = [];
  return { errors, onError: (error) => errors.push(error) };
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `grpc-audit-${prefix}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Lets the pump run: a few turns of the event loop. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}
