/**
 * Emitters: where audit events go. Each takes events synchronously (never awaiting I/O, never
 * throwing), counts what it emitted, dropped and failed, and writes out everything it accepted on
 * `flush()`/`close()`. Emitters do not build events (that is the Recorder) and do not decide what is
 * audited (that is the rules).
 */
export type { EmitterSpec } from "./create-emitter.js";
export type { EmitOutcome, Emitter, EmitterStats, FlushReport, FlushResult } from "./emitter.js";
export { createLogEmitter, type LogEmitterOptions } from "./log-emitter.js";
export { createMultiEmitter, type MultiEmitterOptions } from "./multi-emitter.js";
export { createNoopEmitter } from "./noop-emitter.js";
export type { EncodedEvent, EventSink, SinkWriteOptions } from "./sink.js";
