/**
 * Authorization: may this caller do this to that object. This folder holds what the authz layer
 * reports to observers; it does not record events itself (the Recorder's `authzObserver()` bridges them).
 */
export type { AuthzOutcome } from "../event/builders.js";
export type { AuthzCheck, AuthzObserver } from "./observer.js";
