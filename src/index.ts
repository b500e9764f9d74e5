/**
 * grpc-audit: audit events for Node.js gRPC servers. This module only re-exports the public API.
 */
export * from "./authn/index.js";
export * from "./authz/index.js";
export * from "./brokers/index.js";
export * from "./context/index.js";
export * from "./delivery/index.js";
export * from "./emitters/index.js";
export { AuditConfigError, AuditEmitError, AuditError, AuditInputError } from "./errors/index.js";
export * from "./event/index.js";
export * from "./interceptors/index.js";
export * from "./recorder/index.js";
export * from "./rules/index.js";
export * from "./server/index.js";
