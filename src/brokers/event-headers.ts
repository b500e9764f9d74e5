import { eventKind } from "../event/kinds.js";
import type { PeekedFields } from "../event/wire-peek.js";

/** Names of the headers every broker message carries. */
export const BROKER_HEADER = {
  /** Media type of the value: `BROKER_CONTENT_TYPE.protobuf` or `.json`. */
  CONTENT_TYPE: "content-type",
  /** The event id: consumers de-duplicate by it, the NATS adapter makes it the JetStream message id. */
  EVENT_ID: "grpc-audit-event-id",
  /** Dotted event kind, such as "authz.decision" (see `EVENT_KIND`). */
  EVENT_TYPE: "grpc-audit-event-type",
  /** The event's `schemaVersion`, as a decimal string. */
  SCHEMA_VERSION: "grpc-audit-schema-version",
  /** The event's `service`. */
  SERVICE: "grpc-audit-service",
} as const;

/** Media type of each encoding of a broker message's value. */
export const BROKER_CONTENT_TYPE = {
  /** `grpcaudit.v1.AuditEvent` as protobuf binary (`decodeEvent` reads it). */
  protobuf: "application/x-protobuf",
  /** The event as proto3 JSON, UTF-8 (`eventFromJson` reads it). */
  json: "application/json",
} as const;

/** How an event's value is encoded: protobuf binary or proto3 JSON. */
export type BrokerEncoding = keyof typeof BROKER_CONTENT_TYPE;

/** Prefix of CloudEvents binary-mode header names: "ce_" in the Kafka binding, "ce-" in NATS and HTTP. */
export type CloudEventsHeaderPrefix = "ce_" | "ce-";

/** CloudEvents `type` of each event: this prefix and the dotted kind, such as "grpcaudit.v1.authz.decision". */
export const CLOUDEVENTS_TYPE_PREFIX = "grpcaudit.v1.";

/**
 * The headers of one event's broker message: content type, event id, kind, schema version and service
 * (from the event, or read from its bytes by `peekFields`) and, when `cloudEventsPrefix` is given, the CloudEvents 1.0 binary-mode attributes (`specversion`, `id` =
 * event id, `source` = service, `type`, `time` when the event has one, `datacontenttype`).
 * @internal
 */
export function eventHeaders(
  event: PeekedFields,
  encoding: BrokerEncoding,
  cloudEventsPrefix?: CloudEventsHeaderPrefix,
): Record<string, string> {
  const contentType = BROKER_CONTENT_TYPE[encoding];
  const kind = eventKind(event.eventType);
  const service = headerValue(event.service);
  const eventId = headerValue(event.eventId);
  const headers: Record<string, string> = {
    [BROKER_HEADER.CONTENT_TYPE]: contentType,
    [BROKER_HEADER.EVENT_ID]: eventId,
    [BROKER_HEADER.EVENT_TYPE]: kind,
    [BROKER_HEADER.SCHEMA_VERSION]: String(event.schemaVersion),
    [BROKER_HEADER.SERVICE]: service,
  };
  if (cloudEventsPrefix === undefined) return headers;
  const p = cloudEventsPrefix;
  headers[`${p}specversion`] = "1.0";
  headers[`${p}id`] = eventId;
  headers[`${p}source`] = service;
  headers[`${p}type`] = CLOUDEVENTS_TYPE_PREFIX + kind;
  const time = event.occurredAt?.getTime();
  if (time !== undefined && !Number.isNaN(time)) headers[`${p}time`] = new Date(time).toISOString();
  // The bindings map datacontenttype to `content-type`, set above; the attribute header is also set
  // for consumers that read only prefixed headers. Both always hold the same value.
  headers[`${p}datacontenttype`] = contentType;
  return headers;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

/** Header values cannot hold line breaks (NATS refuses them): control characters become spaces. */
function headerValue(value: string): string {
  return value.replace(CONTROL_CHARACTERS, " ");
}
