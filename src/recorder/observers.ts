import type { AuthnObserver } from "../authn/observer.js";
import type { AuthzObserver } from "../authz/observer.js";

/** The observers to hand to the authn and authz layers. */
export interface AuditObservers {
  authn: AuthnObserver;
  authz: AuthzObserver;
}

const NOOP_OBSERVERS: AuditObservers = Object.freeze({ authn: () => {}, authz: () => {} });

/**
 * The Recorder's observers, or observers that do nothing when there is no Recorder, so wiring the
 * security layers never needs an `if`.
 *
 * ```ts
 * const observers = auditObservers(config.audit ? recorder : undefined);
 * ```
 */
export function auditObservers(recorder?: {
  authnObserver(): AuthnObserver;
  authzObserver(): AuthzObserver;
}): AuditObservers {
  if (recorder === undefined) return NOOP_OBSERVERS;
  return { authn: recorder.authnObserver(), authz: recorder.authzObserver() };
}
