import type { Metadata } from "@grpc/grpc-js";
import type { ActorInput, AuthnFailureCode } from "../event/builders.js";

/** What one authenticator made of a call's credentials. */
export type AuthnOutcome =
  /** The credential was valid; the caller is `actor`. */
  | { kind: "authenticated"; actor: ActorInput }
  /** The call carries no credential of this authenticator's kind; the next authenticator may try. */
  | { kind: "absent" }
  /** A credential of this kind was presented and refused. The reason never contains the credential. */
  | { kind: "refused"; reason: AuthnFailureCode };

/** Facts about the call an authenticator may use besides its metadata. */
export interface AuthnCallInfo {
  /** Full method path. */
  method: string;
  /** Caller address as grpc-js reports it. */
  peer: string;
}

/**
 * Finds out who is calling from a call's metadata. Implementations must not throw (a throw is treated
 * as a refusal with reason "error") and must never put a credential into an error or log line.
 */
export interface Authenticator {
  /** Method name recorded in events, such as "jwt". */
  readonly method: string;
  /**
   * Metadata keys this authenticator reads credentials from, such as ["x-api-key"].
   * `createAuditInterceptors` refuses an authz rule that reads its object id from one of them: the
   * credential would be recorded as the object id and sent to the authorizer. Default: none.
   */
  readonly credentialMetadataKeys?: readonly string[];
  /**
   * The outcome, or a promise of it. Answer synchronously when the answer is at hand (no credential, a
   * malformed one, a cached verification): the call then goes on without waiting for a promise, which
   * is most of what authentication costs a server on a cache hit.
   */
  authenticate(metadata: Metadata, call: AuthnCallInfo): AuthnOutcome | Promise<AuthnOutcome>;
}
