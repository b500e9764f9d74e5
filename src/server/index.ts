/**
 * grpc-js server helpers that are not interceptors: `asyncService` adapts async handlers so that a
 * rejected promise becomes a status instead of a call hanging to its deadline. Nothing here records:
 * `asyncService` only reports when each handler settles (on a `node:diagnostics_channel` channel), which
 * the audit interceptors read for calls whose client had gone.
 */
export {
  type AsyncHandler,
  type AsyncServiceImplementation,
  type AsyncServiceOptions,
  asyncService,
  type StatusError,
} from "./async-service.js";
