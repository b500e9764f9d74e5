import { openAuditStore } from "../../src/store/audit-store.js";

/** The ids of every event stored in the file at `at` (up to 1000), read by a new connection. */
export function storedIds(at: string): string[] {
  const reader = openAuditStore({ path: at, readonly: true });
  try {
    return reader.tail(0, 1000).events.map((e) => e.eventId);
  } finally {
    reader.close();
  }
}
