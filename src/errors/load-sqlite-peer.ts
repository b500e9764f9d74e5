import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import { AuditConfigError } from "./index.js";

// Here, beside the other checks that throw an AuditConfigError, because both of its users may import
// errors/ and not each other (.dependency-cruiser.cjs): the spool (delivery/) and the store (store/).
const require = createRequire(import.meta.url);
let sqlite: typeof BetterSqlite3 | undefined;

/**
 * Loads better-sqlite3 on first use: it is an optional peer dependency, needed only by the spool and
 * the store, so that importing them works without it. When it cannot be loaded, throws an
 * AuditConfigError that begins with `subject` (what needs it: "delivery emitter: `spool`") and says
 * what to install.
 * @internal
 */
export function loadSqlitePeer(subject: string): typeof BetterSqlite3 {
  if (sqlite === undefined) {
    try {
      sqlite = require("better-sqlite3") as typeof BetterSqlite3;
    } catch (error) {
      throw new AuditConfigError(
        `${subject} needs the optional peer dependency better-sqlite3 (npm install better-sqlite3)`,
        { cause: error },
      );
    }
  }
  return sqlite;
}
