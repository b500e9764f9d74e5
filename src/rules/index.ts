/**
 * Audit rules: what to record for each RPC, generated from proto options by protoc-gen-grpc-audit,
 * and their lookup by method path. Rules do not record anything themselves (the interceptor and the
 * Recorder do).
 */
export type { AuditRule, MethodKind, RuleTable } from "./rule.js";
export { mergeRuleTables } from "./rule-table.js";
