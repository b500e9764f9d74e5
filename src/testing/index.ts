/**
 * Helpers for testing code that records audit events: an in-memory emitter that can wait for and match
 * events. Not for production use (it keeps events in memory).
 */
export {
  createMemoryEmitter,
  type EventMatch,
  type MemoryEmitter,
  type MemoryEmitterOptions,
  matchesEvent,
} from "../emitters/memory-emitter.js";
