import type { Actor, AuditEvent, TupleCondition } from "../gen/grpcaudit/v1/event.js";

/**
 * Most UTF-8 bytes of its original text an event keeps in a text field other than `result.message`
 * (ids, names, types, relations, codes, actor claims, peer, request id, user agent, attribute values):
 * 256. Longer text is cut and ends with a truncation marker (see `truncateText`).
 * @internal
 */
export const MAX_FIELD_BYTES = 256;

/**
 * Most UTF-8 bytes of its original text an event keeps in `result.message`: 1024, then the marker.
 * @internal
 */
export const MAX_MESSAGE_BYTES = 1024;

/**
 * Longest truncation marker: "…[truncated " (14 bytes), up to 10 digits, " bytes]" (7 bytes). A cut
 * field holds at most its limit plus this many bytes.
 * @internal
 */
export const MAX_TRUNCATION_MARKER_BYTES = 31;

/**
 * Most entries an event's `attributes` map keeps: 16. Their values are cut to `MAX_FIELD_BYTES`.
 * @internal
 */
export const MAX_ATTRIBUTES = 16;

/**
 * Longest attribute key, in bytes: 64. Keys are never cut: an entry with a longer key is dropped.
 * @internal
 */
export const MAX_ATTRIBUTE_KEY_BYTES = 64;

/**
 * Most UTF-8 bytes of its original text a tuple condition's name keeps: 64 (OpenFGA condition names are
 * identifiers), then the marker. Names and keys are kept short so that 50 conditional tuples at their
 * limits still fit one event of the smallest sink (a 1 MB Kafka message of JSON).
 * @internal
 */
export const MAX_CONDITION_NAME_BYTES = 64;

/**
 * Most context keys a tuple condition keeps: 4. With more, the first 3 are kept and the 4th says how
 * many were left out ("…[N more]").
 * @internal
 */
export const MAX_CONDITION_CONTEXT_KEYS = 4;

/**
 * Most UTF-8 bytes of its original text a tuple condition's context key keeps: 32, then the marker.
 * @internal
 */
export const MAX_CONDITION_KEY_BYTES = 32;

// Visible ASCII: a key is a name, shown in tables and used in queries; no spaces, controls or non-ASCII.
const ATTRIBUTE_KEY = /^[\x21-\x7e]{1,64}$/;

/**
 * True for a key an event's `attributes` may hold: 1 to 64 visible ASCII characters (so as many bytes).
 * @internal
 */
export function isAttributeKey(key: unknown): key is string {
  return typeof key === "string" && ATTRIBUTE_KEY.test(key);
}

const encoder = new TextEncoder();
const scratch = new Uint8Array(Math.max(MAX_FIELD_BYTES, MAX_MESSAGE_BYTES));

/**
 * True when `text` has no lone surrogate. Cheap for Latin-1 text (ids, methods, header values): V8
 * stores it one byte per character, which cannot hold a surrogate, and answers without a scan.
 */
const isWellFormed = (text: string) => text.isWellFormed();

/**
 * `text` with each lone surrogate made U+FFFD, as UTF-8 and so protobuf encode it: the log line, the
 * stored bytes and the chain's hash then hold the same text ("d\ud800" and "d\udc00" are one id).
 */
const wellFormed = (text: string) => (isWellFormed(text) ? text : text.toWellFormed());

/**
 * `text`, well-formed (each lone surrogate made U+FFFD), when its UTF-8 form has at most `maxBytes`
 * bytes; else its longest start that does, followed by "…[truncated N bytes]", N being the UTF-8 bytes
 * cut. A character is never split (nor a surrogate pair).
 * @internal
 */
export function truncateText(raw: string, maxBytes: number): string {
  const text = wellFormed(raw);
  // A UTF-16 unit is at most 3 UTF-8 bytes: short text needs no count.
  if (text.length * 3 <= maxBytes) return text;
  const total = Buffer.byteLength(text, "utf8");
  if (total <= maxBytes) return text;
  const limit = maxBytes > 0 ? Math.floor(maxBytes) : 0; // NaN and negative limits keep nothing
  // encodeInto stops before a character that does not fit whole, so the cut falls between characters.
  const into = limit <= scratch.length ? scratch.subarray(0, limit) : new Uint8Array(limit);
  const { read, written } = encoder.encodeInto(text, into);
  return `${text.slice(0, read)}…[truncated ${total - written} bytes]`;
}

const id = (text: string) => truncateText(text, MAX_FIELD_BYTES);
/**
 * True when `text` is within MAX_FIELD_BYTES for sure (a UTF-16 unit is at most 3 UTF-8 bytes) and
 * well-formed: kept as it is.
 */
const short = (text: string) => text.length * 3 <= MAX_FIELD_BYTES && isWellFormed(text);

/**
 * The event with every text field within its limit (`MAX_FIELD_BYTES`, `MAX_MESSAGE_BYTES`), so one
 * oversized field (a 1.5 MB object id, a long status message) can never make an event too large for a
 * sink, and well-formed (see `truncateText`). Writes into `event`, which must be newly built except
 * for its actor: that one may be shared (the scope's actor, the frozen anonymous actor) and is copied
 * when a field of it is cut. Costs a few length and well-formedness checks when nothing is cut.
 */
export function limitEventText(event: AuditEvent): AuditEvent {
  // Reads first, writes only what must be cut: this runs for every event, and almost nothing is long.
  const fits =
    short(event.eventId) &&
    short(event.service) &&
    short(event.operation) &&
    short(event.traceId) &&
    short(event.spanId) &&
    short(event.requestId) &&
    short(event.peer) &&
    short(event.userAgent);
  if (!fits) {
    event.eventId = id(event.eventId);
    event.service = id(event.service);
    event.operation = id(event.operation);
    event.traceId = id(event.traceId);
    event.spanId = id(event.spanId);
    event.requestId = id(event.requestId);
    event.peer = id(event.peer);
    event.userAgent = id(event.userAgent);
  }
  if (event.actor !== undefined) event.actor = limitActor(event.actor);
  const { target, result, detail } = event;
  if (target !== undefined && !(short(target.type) && short(target.id) && short(target.name))) {
    target.type = id(target.type);
    target.id = id(target.id);
    target.name = id(target.name);
  }
  if (result !== undefined) {
    if (!short(result.code)) result.code = id(result.code);
    result.message = truncateText(result.message, MAX_MESSAGE_BYTES);
  }
  if (detail !== undefined) limitDetail(detail);
  const attributes = event.attributes;
  // The Recorder builds the map with valid keys only; the values are cut here, after redaction.
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined && !short(value)) attributes[key] = id(value);
  }
  return event;
}

function limitActor(actor: Actor): Actor {
  // The actor is usually the scope's, shared by every event of the call: copy it only to cut it.
  const fits =
    short(actor.id) &&
    short(actor.displayName) &&
    short(actor.email) &&
    short(actor.subject) &&
    short(actor.clientId) &&
    short(actor.realm);
  if (fits) return actor;
  return {
    id: id(actor.id),
    type: actor.type,
    displayName: id(actor.displayName),
    email: id(actor.email),
    subject: id(actor.subject),
    clientId: id(actor.clientId),
    realm: id(actor.realm),
  };
}

function limitDetail(detail: NonNullable<AuditEvent["detail"]>): void {
  switch (detail.$case) {
    case "authn":
      if (!short(detail.value.method)) detail.value.method = id(detail.value.method);
      return;
    case "authz": {
      const authz = detail.value;
      const fits =
        short(authz.relation) &&
        short(authz.objectType) &&
        short(authz.objectId) &&
        short(authz.errorReason) &&
        short(authz.storeId) &&
        short(authz.modelId) &&
        short(authz.user);
      if (fits) return;
      authz.relation = id(authz.relation);
      authz.objectType = id(authz.objectType);
      authz.objectId = id(authz.objectId);
      authz.errorReason = id(authz.errorReason);
      authz.storeId = id(authz.storeId);
      authz.modelId = id(authz.modelId);
      authz.user = id(authz.user);
      return;
    }
    case "tupleChange": {
      const change = detail.value;
      for (const tuple of change.tuples) {
        tuple.user = id(tuple.user);
        tuple.relation = id(tuple.relation);
        tuple.object = id(tuple.object);
        tuple.errorReason = id(tuple.errorReason);
        if (tuple.condition !== undefined) tuple.condition = limitCondition(tuple.condition);
      }
      change.storeId = id(change.storeId);
      change.modelId = id(change.modelId);
      return;
    }
    case "resourceAccess": {
      const access = detail.value;
      if (short(access.resourceType) && short(access.resourceId)) return;
      access.resourceType = id(access.resourceType);
      access.resourceId = id(access.resourceId);
      return;
    }
    case "resourceMutation": {
      const mutation = detail.value;
      if (short(mutation.resourceType) && short(mutation.resourceId)) return;
      mutation.resourceType = id(mutation.resourceType);
      mutation.resourceId = id(mutation.resourceId);
      return;
    }
  }
}

function limitCondition(condition: TupleCondition): TupleCondition {
  const keys = condition.contextKeys;
  const kept =
    keys.length > MAX_CONDITION_CONTEXT_KEYS
      ? [
          ...keys.slice(0, MAX_CONDITION_CONTEXT_KEYS - 1),
          `…[${keys.length - MAX_CONDITION_CONTEXT_KEYS + 1} more]`,
        ]
      : keys;
  return {
    name: truncateText(condition.name, MAX_CONDITION_NAME_BYTES),
    contextKeys: kept.map((key) => truncateText(key, MAX_CONDITION_KEY_BYTES)),
  };
}
