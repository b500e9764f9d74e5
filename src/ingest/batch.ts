import { BROKER_CONTENT_TYPE } from "../brokers/event-headers.js";
import { appendEvent, createEventColumns } from "../event/event-columns.js";
import { readEventColumns } from "../event/wire-columns.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { contentType, decodeMessage, notAnEvent } from "./decode.js";
import type { IngestStore, SourceMessage } from "./source.js";

/**
 * One batch's events on their way into a store, each event once: by its id, and for a store of
 * columns (PostgreSQL, keyed by id and time) by its id and time.
 * @internal
 */
export interface Batch {
  /** Adds a message's event; returns why it holds none instead (a poison message). */
  add(message: SourceMessage): string | undefined;
  /** Events added whose key was added before (left out). */
  readonly copies: number;
  /** Events to insert (distinct keys). */
  readonly size: number;
  /** Called once every message is added: the store may prepare the insert meanwhile. */
  prepare(): void;
  /** Inserts the events; resolves to how many were new. */
  insert(): Promise<number>;
}

/**
 * An empty batch for `store`: in the stored columns read straight from the protobuf bytes when the
 * store takes them (`insertColumns`), else as decoded events for `insert`.
 * @internal
 */
export function createBatch(store: IngestStore): Batch {
  return store.insertColumns === undefined ? eventBatch(store) : columnBatch(store, store.insertColumns);
}

function columnBatch(store: IngestStore, insertColumns: NonNullable<IngestStore["insertColumns"]>): Batch {
  const columns = createEventColumns();
  const seen = createSeenKeys();
  let copies = 0;
  return {
    add(message) {
      const type = contentType(message);
      if (typeof type !== "string") return type.reason;
      if (type === BROKER_CONTENT_TYPE.protobuf) {
        try {
          const reason = readEventColumns(columns, message.data);
          if (reason !== undefined) return reason;
        } catch (error) {
          return notAnEvent(BROKER_CONTENT_TYPE.protobuf, error);
        }
      } else {
        // JSON (or a type decodeMessage refuses): decoded and encoded again, as before.
        const decoded = decodeMessage(message);
        if ("reason" in decoded) return decoded.reason;
        appendEvent(columns, decoded.event, decoded.bytes);
      }
      const row = columns.length - 1;
      if (seen.add(columns.ids[row] as string, columns.times[row] as number)) return undefined;
      columns.length--;
      copies++;
      return undefined;
    },
    get copies() {
      return copies;
    },
    get size() {
      return columns.length;
    },
    prepare: () => store.prepareColumns?.(columns),
    insert: async () => insertColumns.call(store, columns),
  };
}

/**
 * The (id, time) keys of a batch's events: the store's key (a partitioned table's key holds its
 * partition column), so an id twice with two times is two events there, and here too. `add` is false
 * for a key added before. Keyed by id alone until an id comes again (rare: a copy in one batch), so
 * that the common case builds no string per event.
 */
function createSeenKeys(): { add(id: string, time: number): boolean } {
  const firstTimes = new Map<string, number>();
  const pairs = new Set<string>();
  return {
    add(id, time) {
      const first = firstTimes.get(id);
      if (first === undefined) {
        firstTimes.set(id, time);
        return true;
      }
      if (first === time) return false;
      const pair = `${time} ${id}`;
      if (pairs.has(pair)) return false;
      pairs.add(pair);
      return true;
    },
  };
}

function eventBatch(store: IngestStore): Batch {
  const events = new Map<string, AuditEvent>();
  let copies = 0;
  return {
    add(message) {
      const decoded = decodeMessage(message);
      if ("reason" in decoded) return decoded.reason;
      if (events.has(decoded.event.eventId)) copies++;
      else events.set(decoded.event.eventId, decoded.event);
      return undefined;
    },
    get copies() {
      return copies;
    },
    get size() {
      return events.size;
    },
    prepare: () => {},
    insert: async () => store.insert([...events.values()]),
  };
}
