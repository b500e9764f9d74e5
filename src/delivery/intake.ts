import type { EmitOutcome } from "../emitters/emitter.js";
import { AuditInputError } from "../errors/index.js";
import { kindIndex } from "../event/kinds.js";
import { encodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { DeliveryState } from "./delivery-state.js";
import { KEPT_KINDS } from "./evictable-kinds.js";
import type { OverflowPolicy } from "./options.js";
import { sinkTakes } from "./sink-fit.js";

/** A spool row is read back by its event's id; stores and brokers deduplicate by it. */
const NO_EVENT_ID = "the event has no eventId: the spool, the stores and the brokers know an event by it";

/**
 * The emit path: encodes the event once (its size is what the byte bounds count), then queues it, or
 * lets the overflow policy of its kind decide. Never waits, never throws.
 * @internal
 */
export function intake(state: DeliveryState, event: AuditEvent): EmitOutcome {
  let kind = 0;
  let bytes: Uint8Array;
  try {
    kind = kindIndex(event.eventType);
    if (state.closed) return state.refuse("closed", kind, false);
    bytes = encodeEvent(event);
    if (event.eventId === "") throw new AuditInputError(NO_EVENT_ID);
  } catch (error) {
    // A caller's bug repeats with every event: reported once per warnIntervalMs, with the count.
    state.warnings.note("unencodable", error);
    return state.failEmit();
  }
  // Also what the sink refused on write, however it checks at emit: else a fail-closed call is answered
  // OK for an event dropped after (docs/operations.md).
  if (state.refusedSizes.refuses(bytes.length) || !sinkTakes(state.options, () => event, bytes.length))
    return state.refuse("too_large", kind);
  const parks = (state.options.policies[kind] ?? "drop-newest") === "park";
  if (parks && state.hasParked) state.promoteParked();
  // Events of a parking kind queue up behind the ones already parked, so they keep their order.
  if ((!parks || !state.hasParked) && state.roomFor(bytes.length)) return state.accept(kind, bytes);
  return overflow(state, policyOf(state, kind), kind, bytes);
}

/**
 * The overflow policy of an event's kind, except that a record summary or a chain checkpoint is never
 * parked: parked, it could be dropped after emit accepted it, when the Recorder takes it as written.
 * Refused at once, the Recorder knows (a summary's counts go into the next one); it never overtakes
 * parked events either (a checkpoint ahead of events it covers).
 */
function policyOf(state: DeliveryState, kind: number): OverflowPolicy {
  const policy = state.options.policies[kind] ?? "drop-newest";
  return policy === "park" && KEPT_KINDS.has(kind) ? "drop-newest" : policy;
}

function overflow(
  state: DeliveryState,
  policy: OverflowPolicy,
  kind: number,
  bytes: Uint8Array,
): EmitOutcome {
  switch (policy) {
    case "drop-newest":
      return state.refuse("queue_full", kind);
    case "drop-oldest":
      return evictFor(state, kind, bytes);
    case "park":
      // Emit never waits: the event waits in the parked list instead, and enters the queue as soon as
      // there is room or is dropped after park.timeoutMs.
      return state.park(kind, bytes);
    case "spool":
      return state.acceptToSpool(kind, bytes);
    case "fail-rpc":
      return state.failEmit("fail_rpc");
  }
}

function evictFor(state: DeliveryState, kind: number, bytes: Uint8Array): EmitOutcome {
  while (!state.roomFor(bytes.length)) {
    // Only batches being written (they cannot be taken back) or kept events are left: the new event goes.
    if (!state.evictOldest()) return state.refuse("queue_full", kind);
  }
  return state.accept(kind, bytes);
}
