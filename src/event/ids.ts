import { uuidv7 } from "uuidv7";

/**
 * Returns a new event id: a UUIDv7, unique and ordered by creation time. Within one process, ids made
 * in the same millisecond still sort in creation order (the uuidv7 package keeps a monotonic counter).
 */
export function newEventId(): string {
  return uuidv7();
}
