import type { ActorInput, AuthnFailureCode } from "../event/builders.js";

/** One authentication attempt, as an authenticator reports it to its observer. */
export interface AuthnAttempt {
  /** Method tried, such as "jwt". */
  method: string;
  /** True when the credential was accepted. */
  success: boolean;
  /** The authenticated caller; required when `success` is true. */
  actor?: ActorInput;
  /** Why the credential was refused; required when `success` is false. Never the credential itself. */
  failureReason?: AuthnFailureCode;
}

/** Called once per authentication attempt. Must not throw; the authn layer does not wait for it. */
export type AuthnObserver = (attempt: AuthnAttempt) => void;
