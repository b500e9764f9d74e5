/**
 * The Recorder: turns facts (authn results, authz decisions, tuple changes, resource mutations) into
 * audit events and hands them to emitters, filling call context from the per-call audit scope. It does
 * not decide what is audited (rules) or how events travel (emitters).
 */
export type { PayloadInput, RecordContext } from "../event/record-context.js";
export type {
  ResourceAccessInput,
  ResourceMutationInput,
  TupleChangeInput,
  TupleChangeItem,
} from "./inputs.js";
export type { RecordMode, RecordPolicy } from "./record-policy.js";
export {
  createRecorder,
  type Recorder,
  type RecorderOptions,
  type RecorderStats,
  type RecordOutcome,
} from "./recorder.js";
export type { SkippableKind, SkippedCount, SkippedStats } from "./skip-counts.js";
export type { StatusMessagePolicy } from "./status-message.js";
export type { TraceIds } from "./trace-ids.js";
