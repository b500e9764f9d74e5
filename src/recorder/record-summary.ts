import { checkTimerMs } from "../errors/option-checks.js";
import { outOfCallEvent } from "../event/builders.js";
import { ActorType, type AuditEvent, EventType } from "../gen/grpcaudit/v1/event.js";
import type { RecordGate } from "./record-policy.js";
import type { SkippedCount } from "./skip-counts.js";

// The `record.summary` events: what the record policy counted instead of recording, per window of
// time, so that a stored trail holds the counts too. Each window holds the skips since the previous
// summary (not the totals), so summing a chain's summaries gives `stats().skipped`.

/** Default of `RecorderOptions.summaryEveryMs`: one summary a minute. */
export const DEFAULT_SUMMARY_EVERY_MS = 60_000;

/**
 * Most counts one summary event holds; a window with more keys is cut into several events, so a
 * broker message stays far below NATS's 1 MiB (at most about 270 KB of protobuf at the limits).
 */
export const MAX_SUMMARY_COUNTS = 500;

/** The actor id of summary events: the audit library itself, an actor of type ACTOR_TYPE_SYSTEM. */
export const SUMMARY_ACTOR_ID = "grpc-audit";

/**
 * Checks `summaryEveryMs` (0 turns summaries off) and gives it, or the default when undefined.
 * @internal
 */
export function resolveSummaryEveryMs(value: number | undefined, where: string): number {
  if (value === undefined) return DEFAULT_SUMMARY_EVERY_MS;
  // 0 turns summaries off; else a whole number of ms a timer holds (0.5 would write one every ms).
  return value === 0 ? 0 : checkTimerMs(`${where}: \`summaryEveryMs\` (0: no summaries)`, value);
}

/** What a Recorder gives its summaries. @internal */
export interface SummarySource {
  service: string;
  /** The Recorder's `instance`, "" when not configured. */
  instance: string;
  gate: RecordGate;
  /** The Recorder's clock (throws when the caller's clock fails). */
  now: () => Date;
  newId: () => string;
}

/** One summary event of a window, and how to mark its counts written. @internal */
export interface SummaryEvent {
  event: AuditEvent;
  /**
   * Marks the event's counts written into the trail: call it only once the emitters accepted the
   * event. Counts of an event not marked are part of the next summary.
   */
  written(): void;
}

/** Makes a Recorder's summary events, window after window. @internal */
export interface RecordSummaries {
  /**
   * The summary events of the skips not yet written, none when there are none. Throws when the clock
   * or the id generator fails; the window is then part of the next summary.
   */
  take(): SummaryEvent[];
}

/**
 * Makes the summaries of a Recorder created now: the first window starts at the Recorder's creation
 * (unset when its clock fails then).
 * @internal
 */
export function createRecordSummaries(source: SummarySource): RecordSummaries {
  const { service, instance, gate, now, newId } = source;
  let since: Date | undefined;
  try {
    since = now();
  } catch {
    // The first summary then has no start; the clock's failure shows when an event needs it.
  }
  return {
    take() {
      const window = gate.window();
      if (window.counts.length === 0 && window.overflow === 0) return [];
      const occurredAt = now();
      const parts: { event: AuditEvent; start: number; end: number }[] = [];
      // Overflow goes with the first event; at least one event even when only overflow grew.
      for (let i = 0; i === 0 || i < window.counts.length; i += MAX_SUMMARY_COUNTS) {
        const eventId = newId();
        const end = Math.min(i + MAX_SUMMARY_COUNTS, window.counts.length);
        const counts = window.counts.slice(i, end).map(summaryCount);
        const overflow = i === 0 ? window.overflow : 0;
        const event = outOfCallEvent(
          { service, instance, eventId, occurredAt },
          EventType.EVENT_TYPE_RECORD_SUMMARY,
          { $case: "recordSummary", value: { since, counts, overflow } },
          { ...SUMMARY_ACTOR },
        );
        parts.push({ event, start: i, end });
      }
      // The next window starts at this one's end only when all of it was written; else the counts
      // left over go into the next summary, with this window's start.
      let unwritten = parts.length;
      return parts.map(({ event, start, end }) => ({
        event,
        written() {
          window.commit(start, end, start === 0);
          if (--unwritten === 0) since = occurredAt;
        },
      }));
    },
  };
}

function summaryCount({ kind, actor, operation, count }: SkippedCount) {
  return { kind, actorId: actor, operation, count };
}

/** The actor of summary events: the audit library itself. */
const SUMMARY_ACTOR = Object.freeze({
  id: SUMMARY_ACTOR_ID,
  type: ActorType.ACTOR_TYPE_SYSTEM,
  displayName: "",
  email: "",
  subject: "",
  clientId: "",
  realm: "",
});
