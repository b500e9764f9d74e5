import type { ServerInterceptor } from "@grpc/grpc-js";
import { AuditConfigError } from "../errors/index.js";
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
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError("createAuditInterceptors: options must be an object");
  }
  const chain = [createAuditScopeInterceptor({ requestIdHeader: options.requestIdHeader ?? "x-request-id" })];
  if (options.authn !== undefined) {
    chain.push(createAuthnInterceptor({ ...options.authn, observer: observerOf(options, "authnObserver") }));
  }
  if (options.authz !== undefined) {
    chain.push(createAuthzInterceptor({ ...options.authz, observer: observerOf(options, "authzObserver") }));
  }
  chain.push(createRulesInterceptor(options));
  return chain;
}

/** The recorder's observer for authn or authz; an AuditConfigError naming `recorder` when it has none. */
function observerOf<K extends "authnObserver" | "authzObserver">(
  options: AuditInterceptorsOptions,
  name: K,
): ReturnType<Recorder[K]> {
  const recorder: Partial<Recorder> | undefined = options.recorder;
  if (typeof recorder?.[name] !== "function") {
    throw new AuditConfigError(
      `createAuditInterceptors: \`recorder\` must be a Recorder (createRecorder), with ${name}`,
    );
  }
  return recorder[name]() as ReturnType<Recorder[K]>;
}
