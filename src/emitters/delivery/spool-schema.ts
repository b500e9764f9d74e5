// Apart from spool-file.ts so that the public entry point's declarations never import better-sqlite3's
// types (an optional peer): `import "grpc-audit"` must type-check without it, also with skipLibCheck off.

/** The spool schema this library writes, kept in `PRAGMA user_version`. */
export const SPOOL_SCHEMA_VERSION = 2;
