import { type EmitOutcome, report } from "../emitters/emitter.js";
import { AuditEmitError, toError } from "../errors/index.js";
import { kindIndex } from "../event/kinds.js";
import { encodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { DeliveryState } from "./delivery-state.js";
import type { OverflowPolicy } from "./options.js";

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
    if (state.closed) return state.counters.dropEvent("closed", kind, false);
    bytes = encodeEvent(event);
  } catch (error) {
    state.counters.failed++;
    const { name, onError } = state.options;
    report(onError, new AuditEmitError(name, "event cannot be encoded", { cause: toError(error) }));
    return "failed";
  }
  if (bytes.length > state.options.maxEventBytes) return state.refuse("too_large", kind);
  const policy = state.options.policies[kind] ?? "drop-newest";
  if (policy === "park" && state.parked.length > 0) state.promoteParked();
  // Parking events queue up behind the ones already parked, so they keep their order.
  if ((policy !== "park" || state.parked.length === 0) && state.fits(bytes.length)) {
    state.enqueue(++state.lastSeq, kind, bytes);
    return accept(state);
  }
  return overflow(state, policy, kind, bytes);
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
      return park(state, kind, bytes);
    case "spool": {
      const row = state.row(state.lastSeq + 1, kind, bytes);
      if (state.spool === undefined || !state.spool.append(row)) return state.refuse("spool_full", kind);
      state.lastSeq = row.id;
      return accept(state);
    }
    case "fail-rpc":
      state.counters.failed++;
      state.warnings.note("fail_rpc");
      return "failed";
  }
}

function accept(state: DeliveryState): "accepted" {
  state.counters.emitted++;
  state.commitIfDue();
  return "accepted";
}

function evictFor(state: DeliveryState, kind: number, bytes: Uint8Array): EmitOutcome {
  while (!state.fits(bytes.length)) {
    const oldest = state.queue.shift();
    // Only batches being written are left: they cannot be taken back, so the new event goes instead.
    if (oldest === undefined) return state.refuse("queue_full", kind);
    state.lose("queue_full", oldest.kind);
  }
  state.enqueue(++state.lastSeq, kind, bytes);
  return accept(state);
}

/**
 * "park": emit never waits, so the event waits in the parked list instead, and enters the queue as
 * soon as there is room (see DeliveryState.promoteParked) or is dropped after park.timeoutMs.
 */
function park(state: DeliveryState, kind: number, bytes: Uint8Array): EmitOutcome {
  const { timeoutMs, maxParked } = state.options.park;
  if (state.parked.length >= maxParked) return state.refuse("parked_full", kind);
  state.parked.push({ seq: ++state.lastSeq, kind, bytes, deadline: Date.now() + timeoutMs });
  scheduleParkExpiry(state);
  return accept(state);
}

/** One timer at a time, for the oldest parked event (with one timeout for all, the first to expire). */
function scheduleParkExpiry(state: DeliveryState): void {
  const head = state.parked[0];
  if (state.parkTimer !== undefined || head === undefined || state.stopped) return;
  state.parkTimer = setTimeout(
    () => {
      state.parkTimer = undefined;
      state.promoteParked();
      const now = Date.now();
      for (
        let parked = state.parked[0];
        parked !== undefined && parked.deadline <= now;
        parked = state.parked[0]
      ) {
        state.parked.shift();
        state.lose("park_timeout", parked.kind);
      }
      scheduleParkExpiry(state);
    },
    Math.max(0, head.deadline - Date.now()),
  );
  state.parkTimer.unref();
}
