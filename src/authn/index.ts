/**
 * Authentication: who the caller is. Authenticators (JWT on jose) turn call metadata into an actor or
 * a credential-free refusal; the authn interceptor runs them, puts the actor into the audit scope and
 * reports every attempt to an observer, in the Recorder's input shape (`AuthnResultInput`). It does not
 * record events itself: the Recorder's `authnObserver()` bridges the two.
 */
export type { AuthnFailureCode } from "../event/builders.js";
export type { Authenticator, AuthnCallInfo, AuthnOutcome } from "./authenticator.js";
export { createJwtAuthenticator, type JwtAuthenticatorOptions } from "./jwt-authenticator.js";
export type { AuthnObserver, AuthnResultInput } from "./observer.js";
