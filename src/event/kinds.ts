import { EventType } from "../gen/grpcaudit/v1/event.js";

/** Stable dotted name of each event kind, used as log message, header value and CLI filter. */
export const EVENT_KIND = {
  AUTHN_RESULT: "authn.result",
  AUTHZ_DECISION: "authz.decision",
  TUPLE_CHANGE: "tuple.change",
  RESOURCE_MUTATION: "resource.mutation",
  RESOURCE_ACCESS: "resource.access",
  CHAIN_CHECKPOINT: "chain.checkpoint",
  RECORD_SUMMARY: "record.summary",
} as const;

/** One of the dotted event kind names in `EVENT_KIND`. */
export type EventKind = (typeof EVENT_KIND)[keyof typeof EVENT_KIND];

/**
 * An event kind, or "unspecified" for an event type this version does not know.
 * @internal
 */
export type KindName = EventKind | "unspecified";

/**
 * The one table of event kinds: each event type with its dotted name. A kind's position in it is its
 * small index (the queue keeps it in one byte, stats and policies are arrays by it); position 0 is
 * "unspecified", for types this version does not know.
 */
const KIND_TABLE: readonly { readonly type: EventType; readonly name: KindName }[] = [
  { type: EventType.EVENT_TYPE_UNSPECIFIED, name: "unspecified" },
  { type: EventType.EVENT_TYPE_AUTHN_RESULT, name: EVENT_KIND.AUTHN_RESULT },
  { type: EventType.EVENT_TYPE_AUTHZ_DECISION, name: EVENT_KIND.AUTHZ_DECISION },
  { type: EventType.EVENT_TYPE_TUPLE_CHANGED, name: EVENT_KIND.TUPLE_CHANGE },
  { type: EventType.EVENT_TYPE_RESOURCE_MUTATION, name: EVENT_KIND.RESOURCE_MUTATION },
  { type: EventType.EVENT_TYPE_RESOURCE_ACCESS, name: EVENT_KIND.RESOURCE_ACCESS },
  { type: EventType.EVENT_TYPE_CHAIN_CHECKPOINT, name: EVENT_KIND.CHAIN_CHECKPOINT },
  { type: EventType.EVENT_TYPE_RECORD_SUMMARY, name: EVENT_KIND.RECORD_SUMMARY },
];

/**
 * The kind names by index ("unspecified" first).
 * @internal
 */
export const KIND_NAMES: readonly KindName[] = KIND_TABLE.map((entry) => entry.name);

/**
 * The known kinds (all but "unspecified"), in table order.
 * @internal
 */
export const EVENT_KINDS: readonly EventKind[] = Object.values(EVENT_KIND);

const INDEX_BY_TYPE = new Map<EventType, number>(KIND_TABLE.map((entry, index) => [entry.type, index]));
const INDEX_BY_NAME = new Map<string, number>(KIND_NAMES.map((name, index) => [name, index]));

/**
 * Index in KIND_NAMES of an event type's kind; 0 ("unspecified") for a type this version does not know.
 * @internal
 */
export function kindIndex(type: EventType): number {
  return INDEX_BY_TYPE.get(type) ?? 0;
}

/**
 * Index in KIND_NAMES of a dotted kind name (such as a spool row's event_type); 0 when unknown.
 * @internal
 */
export function kindIndexOfName(name: string): number {
  return INDEX_BY_NAME.get(name) ?? 0;
}

/** Dotted kind name of an event type ("unspecified" for a type this version does not know). */
export function eventKind(type: EventType): EventKind | "unspecified" {
  return KIND_NAMES[kindIndex(type)] ?? "unspecified";
}

/**
 * True for one of the dotted names in `EVENT_KIND` ("unspecified" is not one).
 * @internal
 */
export function isEventKind(name: string): name is EventKind {
  return INDEX_BY_NAME.has(name) && name !== "unspecified";
}
