import { setTimeout as pause } from "node:timers/promises";
import { currentAuditScope } from "../context/scope.js";
import type { FlushReport } from "../emitters/emitter.js";
import { checkedOutcome } from "../emitters/emitter.js";
import { guardedStats } from "../emitters/guarded-stats.js";
import { AuditEmitError, AuditError, AuditInputError, toError } from "../errors/index.js";
import { report } from "../errors/report.js";
import { EVENT_KIND, type EventKind } from "../event/kinds.js";
import type { RecordContext } from "../event/record-context.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { eventAttributes } from "./attributes.js";
import { buildEvent, type EventInputs, type EventStamp, type RecordedKind } from "./build-event.js";
import {
  droppedAfterCloseError,
  droppedClosed,
  finalCheckpointDroppedError,
  givenUpError,
  RETRY_PAUSE_MS,
  withFlushes,
  withGivenUp,
  withRecorderResult,
} from "./close-report.js";
import {
  checkAccessInput,
  checkAuthnInput,
  checkAuthzInput,
  checkMutationInput,
  checkTupleInput,
} from "./inputs.js";
import { OutcomeCounts } from "./outcome-counts.js";
import { PendingRecordCount, trackPendingRecords } from "./pending-records.js";
import { createRecordSummaries, type SummaryEvent } from "./record-summary.js";
import type { Recorder, RecordOutcome } from "./recorder-api.js";
import { type RecorderOptions, resolveRecorderOptions } from "./recorder-options.js";
import { rewriteStatusMessage } from "./status-message.js";
import { trackStatusMessages } from "./status-messages-of.js";
import { isUnanswered } from "./unanswered-calls.js";

export type { Recorder, RecordOutcome } from "./recorder-api.js";
export type { RecorderOptions } from "./recorder-options.js";
export type { RecorderStats } from "./recorder-stats.js";

/**
 * Creates a Recorder. Validates the options and throws an AuditConfigError naming the bad option.
 *
 * ```ts
 * const recorder = createRecorder({ service: "projects", emitters: [{ kind: "log", logger: pino() }] });
 * recorder.recordResourceMutation({ mutation: "create", resourceType: "project", resourceId: "p-1" });
 * await recorder.close();
 * ```
 */
export function createRecorder(options: RecorderOptions): Recorder {
  const config = resolveRecorderOptions(options);
  const {
    service,
    instance,
    emitter,
    onError,
    now,
    monotonicNowMs,
    newId,
    rewrites,
    chain,
    readTrace,
    gate,
  } = config;
  const outcomes = new OutcomeCounts();
  const counts = { accepted: 0, dropped: 0, failed: 0, invalid: 0, errors: 0, attributesDropped: 0 };
  const recorded: Record<EventKind, number> = {
    [EVENT_KIND.AUTHN_RESULT]: 0,
    [EVENT_KIND.AUTHZ_DECISION]: 0,
    [EVENT_KIND.TUPLE_CHANGE]: 0,
    [EVENT_KIND.RESOURCE_MUTATION]: 0,
    [EVENT_KIND.RESOURCE_ACCESS]: 0,
    [EVENT_KIND.CHAIN_CHECKPOINT]: 0,
    [EVENT_KIND.RECORD_SUMMARY]: 0,
  };

  function refuse(method: string, problem: string): "failed" {
    counts.invalid++;
    report(onError, new AuditInputError(`${method}: ${problem}`));
    return "failed";
  }

  /**
   * What the Recorder adds to an input: the scope, an id, and its clocks read only when the input
   * gives no time or duration. Throws when the Recorder's own clock or id generator fails.
   */
  function stamp(input: RecordContext): EventStamp {
    const scope = currentAuditScope();
    const durationMs =
      input.durationMs ?? (scope === undefined ? undefined : monotonicNowMs() - scope.startedAtMs);
    const eventId = newId();
    const occurredAt = input.occurredAt ?? now();
    const trace = readTrace();
    // Most events have no attributes: then nothing to merge, and buildEvent gives them an empty map.
    if (input.attributes === undefined && scope?.attributes === undefined) {
      return { service, instance, eventId, occurredAt, durationMs, scope, trace, attributes: undefined };
    }
    const { attributes, dropped } = eventAttributes(input.attributes, scope?.attributes, rewrites.redact);
    if (dropped > 0) dropAttributes(dropped);
    return { service, instance, eventId, occurredAt, durationMs, scope, trace, attributes };
  }

  /** Counts attribute entries left out; reports the first time only, as they tend to repeat per call. */
  function dropAttributes(dropped: number): void {
    if (counts.attributesDropped === 0) {
      report(
        onError,
        new AuditInputError(
          "attributes: entries beyond 16 per event, with a key that is not 1 to 64 visible ASCII characters, or with a value that is not a string were left out (counted in stats().attributesDropped; reported once)",
        ),
      );
    }
    counts.attributesDropped += dropped;
  }

  /** Builds the event of a checked input, counts it and hands it to the emitter. Never throws. */
  function emit<K extends RecordedKind>(kind: K, input: EventInputs[K]): RecordOutcome {
    // After close() wrote the last summary and final checkpoint, an emitter that stays open (a wrapper
    // of a shared one) would write the event after them, unchained: the Recorder drops it itself.
    if (sealed) {
      // Records after close() are a shutdown-order bug (the server stopped after the Recorder): said once.
      if (!toldDroppedAfterClose) report(onError, droppedAfterCloseError());
      toldDroppedAfterClose = true;
      counts.dropped++;
      return "dropped";
    }
    let event: AuditEvent;
    try {
      rewriteStatusMessage(input, rewrites);
      event = buildEvent(kind, input, stamp(input));
    } catch (error) {
      // The input was checked: only the Recorder's own now, monotonicNowMs, newEventId or a redaction
      // pattern (a regular expression too complex to run) can fail here.
      counts.failed++;
      report(onError, new AuditError("recorder: the event could not be built", { cause: toError(error) }));
      return "failed";
    }
    return handOver(kind, event);
  }

  /**
   * Links the event into the chain, then hands it to the emitter and counts it; then writes a
   * checkpoint when one is due. Only events handed over take a seq: a gap in the chain is an event
   * an emitter dropped (counted in its stats) or one lost after it.
   */
  function handOver(kind: EventKind, event: AuditEvent): RecordOutcome {
    try {
      chain?.link(event);
    } catch (error) {
      counts.failed++;
      report(onError, new AuditError("recorder: the event could not be chained", { cause: toError(error) }));
      return "failed";
    }
    recorded[kind]++;
    let outcome: RecordOutcome;
    try {
      outcome = checkedOutcome(emitter.emit(event), emitter.name, onError);
    } catch (error) {
      // Emitters promise never to throw; if one does, the RPC still must not see it.
      report(onError, new AuditEmitError(emitter.name, "emit threw", { cause: toError(error) }));
      outcome = "failed";
    }
    counts[outcome]++;
    if (chain?.checkpointDue === true) writeCheckpoint(false);
    return outcome;
  }

  /**
   * Writes a signed checkpoint over the chain's head (when it signs); counted like any event. Never
   * throws; undefined when none was written.
   */
  function writeCheckpoint(final: boolean): RecordOutcome | undefined {
    if (chain === undefined || !chain.signs) return undefined;
    let event: AuditEvent;
    try {
      event = chain.checkpoint({ service, instance, eventId: newId(), occurredAt: now() }, final);
    } catch (error) {
      counts.failed++;
      report(
        onError,
        new AuditError("recorder: the chain checkpoint could not be built", { cause: toError(error) }),
      );
      return "failed";
    }
    return handOver(EVENT_KIND.CHAIN_CHECKPOINT, event);
  }

  // Checkpoints also come with time, so a quiet service's last events do not wait for the next 1000.
  const checkpointTimer =
    chain?.signs === true
      ? setInterval(() => {
          if (chain.unsealed > 0) writeCheckpoint(false);
        }, config.checkpointIntervalMs).unref()
      : undefined;

  // What the record policy skipped reaches the trail as summaries, window by window.
  const summaries =
    gate.skipsSome && config.summaryEveryMs > 0
      ? createRecordSummaries({ service, instance, gate, now, newId })
      : undefined;

  /**
   * Writes the summaries of the skips not yet written, if any. Never throws. False when the emitters
   * refused one: its counts wait for the next.
   */
  function writeSummaries(): boolean {
    if (summaries === undefined) return true;
    let events: SummaryEvent[];
    try {
      events = summaries.take();
    } catch (error) {
      counts.failed++;
      report(
        onError,
        new AuditError("recorder: the record summary could not be built", { cause: toError(error) }),
      );
      return true;
    }
    // A summary the emitters dropped or failed (counted so) did not write its counts: they go into
    // the next one, so the summaries still sum to stats().skipped.
    let allWritten = true;
    for (const { event, written } of events) {
      if (handOver(EVENT_KIND.RECORD_SUMMARY, event) === "accepted") written();
      else allWritten = false;
    }
    return allWritten;
  }

  const summaryTimer =
    summaries === undefined ? undefined : setInterval(writeSummaries, config.summaryEveryMs).unref();

  const pending = new PendingRecordCount();
  const emitterStats = guardedStats(emitter, onError);

  // Set by close(): the last summary is written then, so a success recorded later cannot be counted
  // into one; it is not skipped (recorded while close() still writes, dropped once sealed).
  let closed = false;
  // Set by close() once the final checkpoint is written, before the emitters close: every later record
  // call is dropped and counted here, whether or not the emitters would still take it.
  let sealed = false;
  let toldDroppedAfterClose = false;

  const recorder: Recorder = {
    service,
    recordAuthnResult(raw) {
      const input = checkAuthnInput(raw);
      if (typeof input === "string") return refuse("recordAuthnResult", input);
      // Outcomes count every attempt, recorded or skipped; a success the policy skips is counted before
      // any event work: no id, no event, no chain link.
      outcomes.countAuthn(input);
      if (!closed && gate.skipsAuthn(input)) return "accepted";
      return emit(EVENT_KIND.AUTHN_RESULT, input);
    },
    recordAuthzDecision(raw) {
      const input = checkAuthzInput(raw);
      if (typeof input === "string") return refuse("recordAuthzDecision", input);
      outcomes.countAuthz(input);
      if (!closed && gate.skipsAuthz(input)) return "accepted";
      return emit(EVENT_KIND.AUTHZ_DECISION, input);
    },
    recordTupleChange(raw) {
      const input = checkTupleInput(raw);
      if (typeof input === "string") return refuse("recordTupleChange", input);
      return emit(EVENT_KIND.TUPLE_CHANGE, input);
    },
    recordResourceMutation(raw) {
      const input = checkMutationInput(raw);
      if (typeof input === "string") return refuse("recordResourceMutation", input);
      return emit(EVENT_KIND.RESOURCE_MUTATION, input);
    },
    recordResourceAccess(raw) {
      const input = checkAccessInput(raw);
      if (typeof input === "string") return refuse("recordResourceAccess", input);
      // A read whose client did not get the answer is never skipped: its event says what the handler did.
      if (!closed && !isUnanswered(raw) && gate.skipsAccess(input)) return "accepted";
      return emit(EVENT_KIND.RESOURCE_ACCESS, input);
    },
    reportError(error) {
      counts.errors++;
      // A JavaScript caller may pass a string or undefined; onError is promised an Error.
      report(onError, toError(error));
    },
    // The authn and authz layers report in the record methods' input shape: nothing to map.
    authnObserver: () => (input) => {
      recorder.recordAuthnResult(input);
    },
    authzObserver: () => (input) => {
      recorder.recordAuthzDecision(input);
    },
    stats: () => ({
      recorded: { ...recorded },
      ...counts,
      ...outcomes.snapshot(),
      skipped: gate.stats(),
      pendingRecords: pending.count,
      emitter: emitterStats(),
    }),
    flush: () => emitter.flush(),
    close: async () => {
      // Calls in flight end first (grpc-js reports a forceShutdown's cancels after it returns, and lets
      // handlers run on after a cancel): their records are written before the last summary and checkpoint.
      if (pending.count > 0 && config.closeWaitMs > 0) await pending.idle(config.closeWaitMs);
      // Records still to come are lost if the process exits now: said here, not only counted on arrival.
      const givenUp = pending.count;
      if (givenUp > 0) report(onError, givenUpError(givenUp, config.closeWaitMs));
      // The last summary, then the final checkpoint go out before the emitters close: nothing follows
      // the checkpoint in the chain.
      closed = true;
      clearInterval(summaryTimer);
      // What these flushes report goes into close()'s report: the events they saw dropped are gone,
      // and the emitters' close reports count only what their own drain did.
      const flushes: FlushReport[] = [];
      // The last summary has no next one to take its counts if the emitters refuse it (a full
      // queue): once the queue is written out, it is written again, before the final checkpoint.
      if (!writeSummaries()) {
        flushes.push(await emitter.flush());
        writeSummaries();
      }
      clearInterval(checkpointTimer);
      // A final checkpoint refused by a full queue would leave the trail looking truncated to
      // `verify --sealed`: once the queue has room, another one covers the refused ones' seqs too.
      // The chain reopens before each wait: calls still in flight go on ending meanwhile, and their
      // events, which the emitters accept, must be linked and covered by the next checkpoint. An
      // emitter's flush gives up after its own flushTimeoutMs, which a slow sink outlasts: flushes are
      // repeated for up to closeWaitMs, and stop once one wrote everything (waiting longer cannot help).
      const closedBefore = droppedClosed(emitterStats());
      let final = writeCheckpoint(true);
      const waitUntil = performance.now() + config.closeWaitMs;
      while (final === "dropped") {
        chain?.reopen();
        const flushed = await emitter.flush();
        flushes.push(flushed);
        final = writeCheckpoint(true);
        if (final !== "dropped" || flushed.ok || performance.now() >= waitUntil) break;
        // A flush that failed at once (a closed emitter) must not make this a busy loop.
        await pause(Math.min(RETRY_PAUSE_MS, Math.max(0, waitUntil - performance.now())));
      }
      sealed = true;
      // Said before the emitters close (which may take their whole close timeout), as givenUp is.
      const lostFinal =
        final === "dropped"
          ? finalCheckpointDroppedError(config.closeWaitMs, droppedClosed(emitterStats()) > closedBefore)
          : undefined;
      if (lostFinal !== undefined) report(onError, lostFinal);
      let closedReport = withFlushes(await emitter.close(), flushes);
      if (lostFinal !== undefined) {
        closedReport = withRecorderResult(closedReport, {
          emitter: "recorder",
          status: "error",
          error: lostFinal,
        });
      }
      return givenUp > 0 ? withGivenUp(closedReport, givenUp) : closedReport;
    },
  };
  trackPendingRecords(recorder, pending);
  trackStatusMessages(recorder, rewrites.defaultPolicy);
  return recorder;
}
