import type { EmitterStats } from "../emitters/emitter.js";
import type { AuthzOutcome } from "../event/builders.js";
import type { EventKind } from "../event/kinds.js";
import type { SkippedStats } from "./skip-counts.js";

/**
 * Counters of a Recorder. Every record call, and every chain checkpoint and record summary the Recorder
 * writes, is in exactly one of accepted, dropped, failed, invalid or skipped.
 */
export interface RecorderStats {
  /** Events built, by kind. */
  recorded: Record<EventKind, number>;
  /** Events the emitters took for delivery (outcome "accepted"). */
  accepted: number;
  /**
   * Events dropped on purpose: by the emitters (reasons in `emitter.dropped`), or by the Recorder itself
   * for record calls after `close()`.
   */
  dropped: number;
  /**
   * Events lost: the Recorder could not build or chain them (its clock, id generator or a redaction
   * pattern failed), or an emitter refused them because its sink failed.
   */
  failed: number;
  /** Record calls refused because their input could not become an event. */
  invalid: number;
  /** Failures reported with `reportError` (such as a rule's target-id extractor throwing). */
  errors: number;
  /**
   * Attribute entries left out of events: beyond 16 per event, with a key that is not 1 to 64 visible
   * ASCII characters, or with a value that is not a string. The first one is reported to `onError`.
   */
  attributesDropped: number;
  /** Authentication attempts recorded, by outcome: "success", or the failure code ("expired", ...). */
  authn: Record<string, number>;
  /** Authorization decisions recorded, by outcome ("allowed", "denied", "no_rule", "error"). */
  authz: Record<AuthzOutcome, number>;
  /** Successes counted instead of recorded under the `record` policy; all 0 under the default. */
  skipped: SkippedStats;
  /**
   * Records still to come from calls in flight (see `closeWaitMs`): calls running through the audit
   * interceptors, handlers grpc-js let run on after a cancel, authenticator and authz checks answering.
   */
  pendingRecords: number;
  /** The emitter's own counters. */
  emitter: EmitterStats;
}
