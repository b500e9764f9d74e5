/**
 * The PostgreSQL audit store (`grpc-audit/postgres`, on `pg`, an optional peer): the same questions as
 * the SQLite store — filters, cursor pages, tail, stats, prune — asynchronously, on a server that many
 * replicas of a service share. Like the SQLite store it is a sink of the delivery pipeline.
 */

export type { AuditPage } from "../store/audit-store.js";
export type { PruneOptions, PruneReport } from "../store/prune-plan.js";
export type { AuditQuery, AuditStats, PageOptions } from "../store/query.js";
export type { EditedRow, UndecodableRow } from "../store/stored-rows.js";
export { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from "./postgres-store.js";
export { SCHEMA_VERSION as POSTGRES_SCHEMA_VERSION } from "./schema.js";
