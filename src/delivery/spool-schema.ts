// Spool facts kept apart from spool-file.ts and spool-salvage.ts, so that the public entry point's
// declarations never import better-sqlite3's types (an optional peer): `import "grpc-audit"` must
// type-check without it, also with skipLibCheck off.

/**
 * The spool schema this library writes, kept in `PRAGMA user_version`.
 * @internal
 */
export const SPOOL_SCHEMA_VERSION = 2;

/** What was saved from a damaged spool file. @internal */
export interface Salvage {
  /** Rows read from the damaged file and written to the new spool. */
  readonly recovered: number;
  /** Rows the damaged file held that could not be read; undefined when its tally was unreadable too. */
  readonly lost: number | undefined;
}

/** What the spool does with its file when SQLite fails. @internal */
export type SpoolOperation = "read" | "delete" | "commit";

/** One spooled event. */
export interface SpoolRow {
  /** The pipeline's sequence number: rows are replayed in id order. */
  readonly id: number;
  readonly eventId: string;
  /** Dotted event kind ("authz.decision"). */
  readonly eventType: string;
  /** The encoded event (protobuf). */
  readonly bytes: Uint8Array;
}

/**
 * What `Spool.commit` did: the rows it wrote, or the error SQLite refused them with (disk full,
 * read-only, busy), the rows then still appended. @internal
 */
export type CommitResult =
  | { readonly committed: number; readonly error?: undefined }
  | { readonly committed: 0; readonly error: Error };
