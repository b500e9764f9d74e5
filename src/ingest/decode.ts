import { BROKER_CONTENT_TYPE, BROKER_HEADER } from "../brokers/event-headers.js";
import { decodeEvent, encodeEvent, eventFromJson } from "../event/serialize.js";
import { unstorableTime } from "../event/time.js";
import { eventIdProblem, oversizedKey } from "../event/wire-columns.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { SourceMessage } from "./source.js";

/** A message's event and its protobuf bytes. @internal */
export interface DecodedEvent {
  event: AuditEvent;
  /** The event as protobuf: the message's own bytes when it came as protobuf. */
  bytes: Uint8Array;
}

/** A message's event, or why it holds none (a poison message). @internal */
export type Decoded = DecodedEvent | { reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads the event of a message as the broker emitter wrote it: protobuf or proto3 JSON by its
 * content-type header (protobuf when it has none, the emitter's default). An event without id or time
 * cannot be stored by id and time, so it is poison too, as is one whose id holds U+0000
 * (`eventIdProblem`) and one with an indexed field longer than the Recorder writes (`oversizedKey`):
 * PostgreSQL would refuse its whole batch. So is one with a time outside 0001-9999 (`unstorableTime`).
 * @internal
 */
export function decodeMessage(message: SourceMessage): Decoded {
  const type = contentType(message);
  if (typeof type !== "string") return type;
  let event: AuditEvent;
  let bytes: Uint8Array | undefined;
  try {
    if (type === BROKER_CONTENT_TYPE.protobuf) {
      event = decodeEvent(message.data);
      bytes = message.data;
    } else if (type === BROKER_CONTENT_TYPE.json) {
      event = eventFromJson(JSON.parse(utf8.decode(message.data)));
    } else return { reason: `unknown content-type ${JSON.stringify(type)}` };
  } catch (error) {
    return { reason: notAnEvent(type, error) };
  }
  const idProblem = eventIdProblem(event.eventId);
  if (idProblem !== undefined) return { reason: idProblem };
  if (event.occurredAt === undefined) return { reason: "the event has no occurredAt" };
  const unstorable = unstorableTime(event);
  if (unstorable !== undefined) return { reason: unstorable };
  const { actor, target } = event;
  const oversized = oversizedKey(
    event.eventId,
    actor?.id ?? "",
    target?.type ?? "",
    target?.id ?? "",
    event.requestId,
    event.traceId,
  );
  if (oversized !== undefined) return { reason: oversized };
  if (bytes !== undefined) return { event, bytes };
  try {
    return { event, bytes: encodeEvent(event) };
  } catch (error) {
    // What no reader could read back (a 64-bit number beyond 2^53 - 1): poison, never an error.
    return { reason: notAnEvent(type, error) };
  }
}

/**
 * The content type a message's header names (protobuf without one), or why its headers cannot be read:
 * a broker client may refuse to parse a header block (NATS's refuses a name outside printable ASCII),
 * which makes the message poison, never an error that stops the ingester.
 * @internal
 */
export function contentType(message: SourceMessage): string | { reason: string } {
  try {
    return message.header(BROKER_HEADER.CONTENT_TYPE) ?? BROKER_CONTENT_TYPE.protobuf;
  } catch (error) {
    return { reason: `unreadable headers: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** The reason of a message whose value `type` cannot read. @internal */
export function notAnEvent(type: string, error: unknown): string {
  return `not an AuditEvent as ${type}: ${error instanceof Error ? error.message : String(error)}`;
}
