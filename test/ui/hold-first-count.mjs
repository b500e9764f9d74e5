// Preloaded into `grpc-audit ui` (NODE_OPTIONS=--import) by test/ui/stats-in-flight.test.ts, so it runs
// in every thread of the viewer: the first count of the store a thread begins blocks that thread, as a
// long count does, until the test opens the FIFO named by GRPC_AUDIT_TEST_COUNT_GATE and closes it.
// It adds only the wait: the count then runs as it would.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const Database = createRequire(import.meta.url)("better-sqlite3");
const prepare = Database.prototype.prepare;
let held = false;
Database.prototype.prepare = function (sql, ...rest) {
  if (!held && sql.startsWith("SELECT count(*) n FROM events")) {
    held = true;
    // Opening a FIFO to read waits for a writer (the test then knows the count has begun); reading, for its close.
    readFileSync(process.env.GRPC_AUDIT_TEST_COUNT_GATE);
  }
  return prepare.call(this, sql, ...rest);
};
