import type { AuditEvent, AuthzDecision } from "../gen/grpcaudit/v1/event.js";
import { AUTHZ_DECISIONS } from "./builders.js";
import { eventKind } from "./kinds.js";

/**
 * A batch of events as a shared store keeps them: the columns it filters on, one array per column
 * (row i of the batch is index i of each), and each event's protobuf bytes. An ingester fills it
 * straight from the broker's bytes (`readEventColumns`), so a batch costs no event objects.
 * @internal
 */
export interface EventColumns {
  /** Rows in the batch; the arrays may hold a partly written row after it (ignore it). */
  length: number;
  readonly ids: string[];
  /** Dotted kind names (`eventKind`), "unspecified" for an unknown type. */
  readonly kinds: string[];
  /** `occurredAt` in ms since the epoch. */
  readonly times: number[];
  readonly services: string[];
  readonly operations: string[];
  readonly actorIds: string[];
  readonly targetTypes: string[];
  readonly targetIds: string[];
  readonly success: boolean[];
  readonly codes: string[];
  /** The authz outcome name ("denied", …), "" for other kinds. */
  readonly decisions: string[];
  readonly requestIds: string[];
  readonly traceIds: string[];
  /** Each event's protobuf bytes. */
  readonly events: Uint8Array[];
}

/** An empty batch. @internal */
export function createEventColumns(): EventColumns {
  return {
    length: 0,
    ids: [],
    kinds: [],
    times: [],
    services: [],
    operations: [],
    actorIds: [],
    targetTypes: [],
    targetIds: [],
    success: [],
    codes: [],
    decisions: [],
    requestIds: [],
    traceIds: [],
    events: [],
  };
}

/**
 * Appends an event with its protobuf bytes (for events that came as objects, or as JSON). Its
 * `occurredAt` must be set.
 * @internal
 */
export function appendEvent(columns: EventColumns, event: AuditEvent, bytes: Uint8Array): void {
  const i = columns.length++;
  columns.ids[i] = noNul(event.eventId);
  columns.kinds[i] = eventKind(event.eventType);
  columns.times[i] = event.occurredAt?.getTime() ?? 0;
  columns.services[i] = noNul(event.service);
  columns.operations[i] = noNul(event.operation);
  columns.actorIds[i] = noNul(event.actor?.id ?? "");
  columns.targetTypes[i] = noNul(event.target?.type ?? "");
  columns.targetIds[i] = noNul(event.target?.id ?? "");
  columns.success[i] = event.result?.success === true;
  columns.codes[i] = noNul(event.result?.code ?? "");
  columns.decisions[i] = decisionOf(event);
  columns.requestIds[i] = noNul(event.requestId);
  columns.traceIds[i] = noNul(event.traceId);
  columns.events[i] = bytes;
}

const DECISION_NAMES: ReadonlyMap<AuthzDecision, string> = new Map(
  Object.entries(AUTHZ_DECISIONS).map(([name, decision]) => [decision, name]),
);

/** The outcome name of an authz decision ("allowed", "denied", …), "" for one without a name. @internal */
export function decisionName(decision: AuthzDecision): string {
  return DECISION_NAMES.get(decision) ?? "";
}

/** The event's `decision` column: its authz outcome name, or "" for events of other kinds. @internal */
export function decisionOf(event: AuditEvent): string {
  return event.detail?.$case === "authz" ? decisionName(event.detail.value.decision) : "";
}

/**
 * PostgreSQL text cannot hold U+0000 and refuses a whole batch for one: in the filter columns it
 * becomes U+FFFD. The event itself (its bytes) keeps it. Not one-to-one ("a\0" and "a\uFFFD" give the
 * same text), so the PostgreSQL store refuses an event whose id, its key, holds U+0000.
 * @internal
 */
export function noNul(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text;
}
