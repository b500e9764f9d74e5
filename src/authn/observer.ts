import type { AuthnFailureCode } from "../event/builders.js";
import type { RecordContext } from "../event/record-context.js";

/**
 * One authentication attempt, as the authn interceptor reports it to its observer. It is the input of
 * the Recorder's `recordAuthnResult` as it stands: an observer passes it on unchanged. On success,
 * `actor` is the authenticated caller.
 */
export interface AuthnResultInput extends RecordContext {
  /** Method tried, such as "jwt"; several joined by "," when none found a credential. */
  method: string;
  /** True when the credential was accepted. */
  success: boolean;
  /** Why the credential was refused; required when `success` is false. Never the credential itself. */
  failureReason?: AuthnFailureCode;
}

/** Called once per authentication attempt. Must not throw; the authn layer does not wait for it. */
export type AuthnObserver = (input: AuthnResultInput) => void;
