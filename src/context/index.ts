/**
 * The per-call audit context: an AsyncLocalStorage scope opened for every call (operation, peer,
 * trace and request ids, user agent, start time, and the actor once authn knows it), and the
 * `traceparent` parser it uses. It records nothing and knows no rules: interceptors fill it, handlers
 * and the Recorder read it.
 */
export { type AuditScope, currentActor, currentAuditScope, type MetadataReader } from "./scope.js";
