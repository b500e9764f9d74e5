import { BROKER_CONTENT_TYPE } from "../brokers/event-headers.js";
import { appendEvent, createEventColumns, type EventColumns } from "../event/event-columns.js";
import { readEventColumns } from "../event/wire-columns.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { contentType, decodeMessage, notAnEvent } from "./decode.js";
import type { IngestStore, SourceMessage } from "./source.js";

/**
 * One batch's events on their way into a store, each event once: a message whose key (its id, and
 * for a store of columns its id and time: PostgreSQL's key) came before in the batch with the same
 * bytes is left out as a copy. One with other bytes is another event under that key: it stays, so
 * that the store refuses it as it refuses one under a stored key, and the ingester dead-letters it.
 * @internal
 */
export interface Batch {
  /** Adds a message's event; returns why it holds none instead (a poison message). */
  add(message: SourceMessage): string | undefined;
  /** Events added whose key was added before with the same bytes (left out). */
  readonly copies: number;
  /** Events to insert. */
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
  const keys = createKeyRows(columns);
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
      const earlier = keys.earlier(row);
      if (earlier === undefined || !sameBytes(columns.events[earlier], columns.events[row])) return undefined;
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
 * The (id, time) keys of the rows of `columns`: the store's key (a partitioned table's key holds its
 * partition column), so an id twice with two times is two events there, and here too. `earlier(row)`
 * is the first row of the same key, or undefined for a new key. Keyed by id alone until an id comes
 * again (rare: a copy in one batch), so that the common case builds no string per event.
 */
function createKeyRows(columns: EventColumns): { earlier(row: number): number | undefined } {
  const firstRows = new Map<string, number>();
  const pairRows = new Map<string, number>();
  return {
    earlier(row) {
      const id = columns.ids[row] as string;
      const time = columns.times[row] as number;
      const first = firstRows.get(id);
      if (first === undefined) {
        firstRows.set(id, row);
        return undefined;
      }
      if (columns.times[first] === time) return first;
      const pair = `${time} ${id}`;
      const paired = pairRows.get(pair);
      if (paired === undefined) pairRows.set(pair, row);
      return paired;
    },
  };
}

/** True for the same bytes: a copy of an event, not another event under its key. */
function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
}

function eventBatch(store: IngestStore): Batch {
  const events: AuditEvent[] = [];
  const firstBytes = new Map<string, Uint8Array>();
  let copies = 0;
  return {
    add(message) {
      const decoded = decodeMessage(message);
      if ("reason" in decoded) return decoded.reason;
      const { event, bytes } = decoded;
      const earlier = firstBytes.get(event.eventId);
      if (earlier === undefined) firstBytes.set(event.eventId, bytes);
      else if (sameBytes(earlier, bytes)) {
        copies++;
        return undefined;
      }
      events.push(event);
      return undefined;
    },
    get copies() {
      return copies;
    },
    get size() {
      return events.length;
    },
    prepare: () => {},
    insert: async () => store.insert(events),
  };
}
