import type { ServerInterceptor } from "@grpc/grpc-js";
import { createAuditScopeInterceptor } from "./audit-scope-interceptor.js";
import { createRulesInterceptor, type RulesInterceptorOptions } from "./rules-interceptor.js";

/** Options of `createAuditInterceptors`. */
export type AuditInterceptorsOptions = RulesInterceptorOptions;

/**
 * The audit interceptor chain in the order it must run: the audit scope first (it must see every
 * outcome, also rejections by later interceptors), then the rules interceptor. Put the result at the
 * start of the server's interceptors.
 *
 * ```ts
 * const server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: [auditRules] }) });
 * ```
 */
export function createAuditInterceptors(options: AuditInterceptorsOptions): ServerInterceptor[] {
  return [createAuditScopeInterceptor(), createRulesInterceptor(options)];
}
