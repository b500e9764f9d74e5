import type { Database } from "better-sqlite3";
import { AuditEmitError, toError } from "../errors/index.js";
import type { DeliveryOptionsPlace } from "./options.js";
import type { Salvage, SpoolOperation } from "./spool-schema.js";

/** Options of a Spool, resolved. */
export interface SpoolConfig {
  readonly path: string;
  readonly maxBytes: number;
  readonly synchronous: "full" | "normal";
  /** Names the owner in reported errors. */
  readonly name: string;
  /** Where the spool's options were given: errors opening it name its path option as the caller wrote it. */
  readonly place: DeliveryOptionsPlace;
  readonly onError: (error: Error) => void;
  /**
   * Called when SQLite refuses a read or a delete and the file is fine (disk full, read-only, busy):
   * the caller reports it at most once per warnIntervalMs. Damage is reported through onError.
   */
  readonly onRefused: (operation: SpoolOperation, error: Error) => void;
  /** Called after an unusable file was moved aside: with what was salvaged when it was a damaged spool. */
  readonly onMovedAside: (salvage: Salvage | undefined) => void;
  /**
   * Called with the rows lost when the spool file was deleted or replaced while in use and its rows
   * could not be copied to a new file (see Spool.checkFile).
   */
  readonly onLost: (rows: number) => void;
  /** For tests: sees each connection the spool opens (a test limits its max_page_count, as a full disk). */
  readonly opened?: ((db: Database) => void) | undefined;
  /**
   * Called once the spool closed for good (a damaged file that could not be replaced), while it still
   * holds the rows appended since the last commit: take them back (`discardPending`).
   */
  readonly onGivenUp: () => void;
}

/** An error of the spool at `config.path`, for onError. @internal */
export function spoolError(config: SpoolConfig, message: string, cause?: unknown): AuditEmitError {
  const text = `spool ${config.path}: ${message}`;
  return cause === undefined
    ? new AuditEmitError(config.name, text)
    : new AuditEmitError(config.name, text, { cause: toError(cause) });
}
