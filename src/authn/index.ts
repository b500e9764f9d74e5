/**
 * Authentication: who the caller is. This folder holds what the authn layer reports to observers; it
 * does not record events itself (the Recorder's `authnObserver()` bridges the two).
 */
export type { AuthnFailureCode } from "../event/builders.js";
export type { AuthnAttempt, AuthnObserver } from "./observer.js";
