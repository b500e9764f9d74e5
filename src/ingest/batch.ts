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
  const keys = new Set<string>();
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
      // The store's key is the id and the time (a partitioned table's key holds its partition
      // column): an id twice with two times is two events there, so here too.
      const row = columns.length - 1;
      const key = `${columns.times[row] as number} ${columns.ids[row] as string}`;
      if (keys.has(key)) {
        columns.length--;
        copies++;
      } else keys.add(key);
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
