/**
 * OpenFGA integration (`grpc-audit/openfga`): an Authorizer that asks OpenFGA through the application's
 * `@openfga/sdk` client, with an optional short-lived decision cache, and a tuple writer that records every
 * relationship change as a TUPLE_CHANGED event and invalidates that cache. It is not an OpenFGA client:
 * the application creates and configures `OpenFgaClient` (URL, credentials, retries) and passes it in. The
 * core package never imports this module, so `@openfga/sdk` stays an optional peer dependency.
 */
export {
  type AuditedTupleWriter,
  createAuditedTupleWriter,
} from "./audited-tuple-writer.js";
export {
  createOpenFgaAuthorizer,
  type OpenFgaAuthorizer,
  type OpenFgaAuthorizerOptions,
  type OpenFgaCacheOptions,
} from "./openfga-authorizer.js";
export type { AuditedTupleWriterOptions } from "./tuple-writer-options.js";
