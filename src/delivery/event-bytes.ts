import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { EncodedEvent } from "../emitters/sink.js";
import { EVENT_KIND, type EventKind, eventKind } from "../event/kinds.js";
import { decodeEvent } from "../event/serialize.js";
import type { AuditEvent, EventType } from "../gen/grpcaudit/v1/event.js";

/** An event kind, or "unspecified" for an event type this version does not know. */
export type KindName = EventKind | "unspecified";

/**
 * The kinds by a small index, so the queue can store an event's kind in one byte.
 * @internal
 */
export const KIND_NAMES: readonly KindName[] = [
  "unspecified",
  EVENT_KIND.AUTHN_RESULT,
  EVENT_KIND.AUTHZ_DECISION,
  EVENT_KIND.TUPLE_CHANGE,
  EVENT_KIND.RESOURCE_MUTATION,
];

const INDEX_BY_NAME = new Map<string, number>(KIND_NAMES.map((name, index) => [name, index]));

/**
 * Index in KIND_NAMES of an event type's kind.
 * @internal
 */
export function kindIndex(type: EventType): number {
  return INDEX_BY_NAME.get(eventKind(type)) ?? 0;
}

/**
 * Index in KIND_NAMES of a dotted kind name (such as a spool row's event_type); 0 when unknown.
 * @internal
 */
export function kindIndexOfName(name: string): number {
  return INDEX_BY_NAME.get(name) ?? 0;
}

/** Field number of `event_id` in grpcaudit.v1.AuditEvent. */
const EVENT_ID_FIELD = 1;

/**
 * Reads the event id out of an encoded AuditEvent without decoding the rest ("" when absent), so
 * events can be spooled straight from their bytes.
 * @internal
 */
export function eventIdOf(bytes: Uint8Array): string {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === EVENT_ID_FIELD && wireType === WireType.LengthDelimited) return reader.string();
    reader.skip(wireType, field);
  }
  return "";
}

/**
 * An EncodedEvent whose `event` is decoded on first access and kept, so a sink that only sends the
 * bytes never pays for decoding.
 * @internal
 */
export class LazyEncodedEvent implements EncodedEvent {
  readonly bytes: Uint8Array;
  #event: AuditEvent | undefined;

  constructor(bytes: Uint8Array, event?: AuditEvent) {
    this.bytes = bytes;
    this.#event = event;
  }

  get event(): AuditEvent {
    this.#event ??= decodeEvent(this.bytes);
    return this.#event;
  }
}
