import { EventType } from "../gen/grpcaudit/v1/event.js";

/** Stable dotted name of each event kind, used as log message, header value and CLI filter. */
export const EVENT_KIND = {
  AUTHN_RESULT: "authn.result",
  AUTHZ_DECISION: "authz.decision",
  TUPLE_CHANGE: "tuple.change",
  RESOURCE_MUTATION: "resource.mutation",
} as const;

/** One of the dotted event kind names in `EVENT_KIND`. */
export type EventKind = (typeof EVENT_KIND)[keyof typeof EVENT_KIND];

const KIND_BY_TYPE: Readonly<Record<EventType, EventKind | "unspecified">> = {
  [EventType.EVENT_TYPE_UNSPECIFIED]: "unspecified",
  [EventType.EVENT_TYPE_AUTHN_RESULT]: EVENT_KIND.AUTHN_RESULT,
  [EventType.EVENT_TYPE_AUTHZ_DECISION]: EVENT_KIND.AUTHZ_DECISION,
  [EventType.EVENT_TYPE_TUPLE_CHANGED]: EVENT_KIND.TUPLE_CHANGE,
  [EventType.EVENT_TYPE_RESOURCE_MUTATION]: EVENT_KIND.RESOURCE_MUTATION,
  [EventType.UNRECOGNIZED]: "unspecified",
};

/** Dotted kind name of an event type ("unspecified" for a type this version does not know). */
export function eventKind(type: EventType): EventKind | "unspecified" {
  return KIND_BY_TYPE[type] ?? "unspecified";
}
