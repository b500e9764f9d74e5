/**
 * The embedded audit store: a SQLite file (better-sqlite3, WAL) that keeps events indexed for the
 * questions people ask of an audit trail — who changed project X last week, which calls were denied
 * today — with cursor pagination, stats and pruning. It is a sink: events reach it through the
 * delivery pipeline, never synchronously from an RPC.
 */
export { type AuditPage, type AuditStore, type AuditStoreOptions, openAuditStore } from "./audit-store.js";
export type { PruneOptions, PruneReport } from "./prune-plan.js";
export type { AuditQuery, AuditStats, PageOptions } from "./query.js";
export { SCHEMA_VERSION as STORE_SCHEMA_VERSION } from "./schema-version.js";
export type { EditedRow, UndecodableRow } from "./stored-rows.js";
