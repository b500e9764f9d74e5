/**
 * Channels on which `asyncService` publishes each call's handler start and settlement (the handler
 * grpc-js called and those it started count as one), in the handler's own async context (its audit
 * scope): grpc-js drops a handler's answer to a call the client
 * cancelled, so the audit interceptors learn it here, and record whether a change happened. The
 * interceptors subscribe by these names (src/interceptors/handler-outcome.ts); this folder imports
 * no audit code.
 * @internal
 */
export const HANDLER_STARTED_CHANNEL = "grpc-audit:handler-started";
/** @internal */
export const HANDLER_SETTLED_CHANNEL = "grpc-audit:handler-settled";
