// Which events "drop-oldest" may evict: the kinds kept once accepted, and the evictable mask by kind.
import { EVENT_KIND, KIND_NAMES, kindIndexOfName } from "../event/kinds.js";
import type { OverflowPolicy, ResolvedDeliveryOptions } from "./options.js";

/** Overflow policies that keep their kind's events: "drop-oldest" of another kind never evicts those. */
const KEEPING_POLICIES: ReadonlySet<OverflowPolicy> = new Set<OverflowPolicy>(["park", "spool", "fail-rpc"]);

/**
 * Kinds that no overflow policy drops once accepted ("drop-oldest" does not evict them, "park" does
 * not park them: refused at once, the Recorder sees it). The Recorder takes an accepted one as
 * written: a record summary's counts are marked written, and a chain checkpoint is what signs the
 * trail (the final one is what `verify --sealed` needs). @internal
 */
export const KEPT_KINDS: ReadonlySet<number> = new Set([
  kindIndexOfName(EVENT_KIND.RECORD_SUMMARY),
  kindIndexOfName(EVENT_KIND.CHAIN_CHECKPOINT),
]);

/**
 * Indexed by kind: true when "drop-oldest" may evict its events. Never a kept kind, nor a kind whose
 * policy keeps its events (park, spool, fail-rpc): a fail-closed call may already have been answered
 * OK on the strength of it. All false without a "drop-oldest" policy, so the queue stays one FIFO.
 * @internal
 */
export function evictableKinds(options: ResolvedDeliveryOptions): boolean[] {
  const policyOf = (kind: number) => options.policies[kind] ?? "drop-newest";
  const evicts = KIND_NAMES.some((_, kind) => policyOf(kind) === "drop-oldest");
  return KIND_NAMES.map(
    (_, kind) => evicts && !KEPT_KINDS.has(kind) && !KEEPING_POLICIES.has(policyOf(kind)),
  );
}
