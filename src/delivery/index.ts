/**
 * The delivery pipeline: what sits between emit() and a sink that can be slow, down or gone. A
 * bounded queue (events and bytes), batching, retry with backoff, per-kind overflow policies and a
 * durable SQLite spool with write-ahead mode. It does not know how to write anywhere: that is the
 * EventSink's job (a broker, a store), and it does not build events (that is the Recorder).
 */

export type { Jitter } from "./backoff.js";
export { createDeliveryEmitter, type DeliveryEmitter } from "./delivery-emitter.js";
export type { DeliveryStats, SpoolRecoveryStats } from "./delivery-stats.js";
export type {
  DeliveryEmitterOptions,
  OverflowPolicy,
  OverflowPolicyMap,
  ParkOptions,
  RetryOptions,
  SpoolOptions,
} from "./options.js";
export type { DeliveryCloseReport, DeliveryFlushReport } from "./pipeline.js";
