/**
 * The per-call audit context: an AsyncLocalStorage scope opened for every call (operation, peer,
 * trace and request ids, user agent, start time, the actor once authn knows it, and the attributes the
 * handler attaches), and the `traceparent` parser it uses. It records nothing and knows no rules:
 * interceptors fill it, handlers read it and attach facts to it, the Recorder reads it.
 */
export {
  type AuditScope,
  currentActor,
  currentAuditScope,
  type MetadataReader,
  setAuditAttribute,
} from "./scope.js";
