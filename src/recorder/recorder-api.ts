import type { AuthnObserver, AuthnResultInput } from "../authn/observer.js";
import type { AuthzDecisionInput, AuthzObserver } from "../authz/observer.js";
import type { EmitOutcome, FlushReport } from "../emitters/emitter.js";
import type { ResourceAccessInput, ResourceMutationInput, TupleChangeInput } from "./inputs.js";
import type { RecorderStats } from "./recorder-stats.js";

/** What happened to a recorded event: handed to the emitters, dropped by them, or lost (see stats). */
export type RecordOutcome = EmitOutcome;

/**
 * Checks record input, builds audit events (`buildEvent`), counts them and hands them to emitters.
 * Record methods never throw and never wait: they return what the emitters did with the event. Inside
 * an RPC they fill operation, actor, trace and request ids, peer and duration from the audit scope;
 * outside one, pass them in the input.
 */
export interface Recorder {
  /** The service name put on every event (the `service` option). */
  readonly service: string;
  /**
   * Records one authentication attempt as an `authn.result` event. A refused attempt's actor is
   * anonymous unless the input names one, and its result code defaults to "UNAUTHENTICATED". Returns
   * what the emitters did with the event; an accepted credential skipped by the `record` policy is
   * counted in `stats().skipped` and returns "accepted". Never throws: input that cannot become an
   * event is counted in `stats().invalid`, reported to `onError` as an AuditInputError, and returns
   * "failed".
   */
  recordAuthnResult(input: AuthnResultInput): RecordOutcome;
  /**
   * Records one authorization decision as an `authz.decision` event. Unless the input gives them, its
   * target is the checked object and its result succeeds only for "allowed". Returns what the emitters
   * did with the event; an "allowed" skipped by the `record` policy is counted in `stats().skipped` and
   * returns "accepted". Never throws: bad input is counted in `stats().invalid`, reported to `onError`,
   * and returns "failed".
   */
  recordAuthzDecision(input: AuthzDecisionInput): RecordOutcome;
  /**
   * Records the relationship tuples one call wrote or deleted as one `tuple.change` event; unless the
   * input gives one, its result succeeds only when every tuple did. Returns what the emitters did with
   * the event. Never throws: bad input is counted in `stats().invalid`, reported to `onError`, and
   * returns "failed".
   */
  recordTupleChange(input: TupleChangeInput): RecordOutcome;
  /**
   * Records a change to one resource as a `resource.mutation` event, such as a rule with
   * `EVENT_TYPE_RESOURCE_MUTATION` makes; its result defaults to a success. Returns what the emitters
   * did with the event. Never throws: bad input is counted in `stats().invalid`, reported to
   * `onError`, and returns "failed".
   */
  recordResourceMutation(input: ResourceMutationInput): RecordOutcome;
  /** Records a read of a resource (`resource.access`), such as a rule with `EVENT_TYPE_RESOURCE_ACCESS` makes. */
  recordResourceAccess(input: ResourceAccessInput): RecordOutcome;
  /**
   * Counts a failure found outside the record calls (such as a rule's target-id extractor throwing)
   * and passes it to `onError`. Never throws.
   */
  reportError(error: Error): void;
  /** An observer for the authn layer: passes each report to `recordAuthnResult` as it stands. */
  authnObserver(): AuthnObserver;
  /** An observer for the authz layer: passes each report to `recordAuthzDecision` as it stands. */
  authzObserver(): AuthzObserver;
  /** A snapshot of the Recorder's counters, with its emitters' (a copy: later events do not change it). */
  stats(): RecorderStats;
  /**
   * Resolves once every accepted event has been written by every emitter, or reports what is pending
   * when an emitter's own wait runs out. Takes no options; an argument is ignored.
   */
  flush(): Promise<FlushReport>;
  /**
   * Waits, up to `closeWaitMs`, for the records of calls still in flight (`stats().pendingRecords`; not
   * at all when there are none), then flushes and closes the emitters. Records still to come when the
   * wait ends are reported once to `onError`, and the report is not ok: it gains a result
   * `{ emitter: "recorder", status: "timeout", pending }` counting them. Later record calls are dropped
   * and counted in `stats().dropped` by the Recorder itself (the first also reported to `onError`: the
   * server outlived its Recorder), never handed to an emitter (one that stays
   * open would write them after the final checkpoint), successes a record policy would skip included
   * (the last summary was written at close, none could count them). A last summary the emitters refuse
   * is written again once they flushed, as a refused final checkpoint is (flushed again while the queue
   * stays full, for up to `closeWaitMs`; still refused, it is reported to `onError` and as a result
   * `{ emitter: "recorder", status: "error", error }`). The drops such a flush names make the report
   * not ok, with their errors; a flush that only ran out of time does not, the close drained on. Takes no
   * options; an argument is ignored and the close goes ahead, so it can be passed unbound:
   * `process.once("SIGTERM", recorder.close)`.
   */
  close(): Promise<FlushReport>;
}
