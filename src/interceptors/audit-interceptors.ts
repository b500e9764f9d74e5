import type { ServerInterceptor } from "@grpc/grpc-js";
import type { Recorder } from "../recorder/recorder.js";
import { createAuditScopeInterceptor } from "./audit-scope-interceptor.js";
import { type AuthnInterceptorOptions, createAuthnInterceptor } from "./authn-interceptor.js";
import { type AuthzInterceptorOptions, createAuthzInterceptor } from "./authz-interceptor.js";
import { createRulesInterceptor, type RulesInterceptorOptions } from "./rules-interceptor.js";

/** Options of `createAuditInterceptors`. */
export interface AuditInterceptorsOptions extends RulesInterceptorOptions {
  /** Records every event: mutations, and the attempts and decisions of authn and authz. */
  recorder: Recorder;
  /** Authenticate callers; every attempt is recorded through `recorder.authnObserver()`. Default: no authn. */
  authn?: Omit<AuthnInterceptorOptions, "observer">;
  /** Authorize calls; every decision and refusal is recorded through `recorder.authzObserver()`. Default: no authz. */
  authz?: Omit<AuthzInterceptorOptions, "observer">;
  /**
   * Response header that carries the call's request id (the caller's valid `x-request-id`, else the
   * one generated for the call), so the caller can cite the audit events of its call. Also on refused
   * calls. A lowercase gRPC metadata key; false: none. Default: "x-request-id".
   */
  requestIdHeader?: string | false;
}

/**
 * The audit interceptor chain in the order it must run: the audit scope first (it must see every
 * outcome, also rejections by later interceptors), then authn, authz, and the rules interceptor. Put the
 * result at the start of the server's interceptors.
 *
 * ```ts
 * const server = new Server({
 *   interceptors: createAuditInterceptors({ recorder, rules: [auditRules], authn: { authenticators: [jwt] } }),
 * });
 * ```
 */
export function createAuditInterceptors(options: AuditInterceptorsOptions): ServerInterceptor[] {
  const chain = [createAuditScopeInterceptor({ requestIdHeader: options.requestIdHeader ?? "x-request-id" })];
  if (options.authn !== undefined) {
    chain.push(createAuthnInterceptor({ ...options.authn, observer: options.recorder.authnObserver() }));
  }
  if (options.authz !== undefined) {
    chain.push(createAuthzInterceptor({ ...options.authz, observer: options.recorder.authzObserver() }));
  }
  chain.push(createRulesInterceptor(options));
  return chain;
}
