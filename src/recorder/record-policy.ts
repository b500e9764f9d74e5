import type { AuthnResultInput } from "../authn/observer.js";
import type { AuthzDecisionInput } from "../authz/observer.js";
import { currentAuditScope } from "../context/scope.js";
import { AuditConfigError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { ANONYMOUS_ACTOR } from "../event/builders.js";
import { EVENT_KINDS } from "../event/kinds.js";
import type { RecordContext } from "../event/record-context.js";
import type { ResourceAccessInput } from "./inputs.js";
import { createSkipCounts, type SkippableKind, type SkippedStats, type SkipWindow } from "./skip-counts.js";

/** What a Recorder keeps of one event kind: "all" of its events, or only its "failures" (successes are counted). */
export type RecordMode = "all" | "failures";

/**
 * Which events a Recorder records, per kind (`RecorderOptions.record`). With "failures" a kind's
 * successes are counted per (kind, actor, method) in `stats().skipped` instead of being recorded: no
 * event is built, none takes an id or a place in the chain. A success is:
 * - `authn.result`: the credential was accepted (`success: true`);
 * - `authz.decision`: the decision is "allowed" (so "denied", "no_rule", also when let through, and
 *   "error" are always recorded);
 * - `resource.access`: the call ended OK (`result.success`, true when no result is given) and its
 *   client got the answer (a read whose client cancelled or whose deadline passed is recorded);
 *
 * and, for each, an input whose `result.success` is false is never a success. Resource mutations and
 * tuple changes accept only "all": they are the record of what changed, which a count cannot replace.
 * Default: "all" for every kind.
 */
export interface RecordPolicy {
  /** "failures" counts accepted credentials, records refused ones. Default: "all". */
  "authn.result"?: RecordMode;
  /** "failures" counts "allowed" decisions, records every other. Default: "all". */
  "authz.decision"?: RecordMode;
  /** "failures" counts reads that ended OK, records the others. Default: "all". */
  "resource.access"?: RecordMode;
  /** Only "all": every tuple change is recorded. */
  "tuple.change"?: "all";
  /** Only "all": every resource mutation is recorded. */
  "resource.mutation"?: "all";
}

/** Keys `stats().skipped.counts` holds by default (`RecorderOptions.maxSkippedKeys`). */
const DEFAULT_MAX_SKIPPED_KEYS = 10_000;

/**
 * The record policy of a Recorder: decides whether a checked input is a success to count instead of
 * record, and counts it.
 * @internal
 */
export interface RecordGate {
  /** True when `input` is a success its kind's policy skips; it has then been counted. */
  skipsAuthn(input: AuthnResultInput): boolean;
  skipsAuthz(input: AuthzDecisionInput): boolean;
  skipsAccess(input: ResourceAccessInput): boolean;
  stats(): SkippedStats;
  /** True when the policy sets some kind to "failures" (else nothing is ever skipped). */
  readonly skipsSome: boolean;
  /** The skips since the last committed window, for a summary event. */
  window(): SkipWindow;
}

/**
 * Checks `record` and `maxSkippedKeys` and makes the Recorder's gate. Throws an AuditConfigError
 * naming every unknown kind, or the kind with a bad mode.
 * @internal
 */
export function createRecordGate(
  record: RecordPolicy | undefined,
  maxSkippedKeys: number | undefined,
  where: string,
): RecordGate {
  const failures = failuresOnly(record, where);
  // Only an absent option takes the default: null is a value, and not a number.
  const maxKeys = maxSkippedKeys === undefined ? DEFAULT_MAX_SKIPPED_KEYS : maxSkippedKeys;
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 0) {
    throw new AuditConfigError(
      `${where}: \`maxSkippedKeys\` must be a whole number ≥ 0, got ${shown(maxSkippedKeys)}`,
    );
  }
  const counts = createSkipCounts(maxKeys);

  /** Counts a skipped success under the actor and method its event would have had. */
  function skip(kind: SkippableKind, input: RecordContext): true {
    const scope = currentAuditScope();
    const scopeActor = scope === undefined ? "" : (scope.actor?.id ?? ANONYMOUS_ACTOR.id);
    counts.add(kind, input.actor?.id ?? scopeActor, input.operation ?? scope?.operation ?? "");
    return true;
  }

  const authn = failures.has("authn.result");
  const authz = failures.has("authz.decision");
  const access = failures.has("resource.access");
  return {
    skipsAuthn: (input) =>
      authn && input.success && input.result?.success !== false && skip("authn.result", input),
    skipsAuthz: (input) =>
      authz &&
      input.decision === "allowed" &&
      input.result?.success !== false &&
      skip("authz.decision", input),
    skipsAccess: (input) => access && input.result?.success !== false && skip("resource.access", input),
    stats: () => counts.stats(),
    skipsSome: failures.size > 0,
    window: () => counts.window(),
  };
}

const SKIPPABLE: ReadonlySet<string> = new Set<SkippableKind>([
  "authn.result",
  "authz.decision",
  "resource.access",
]);

/** The kinds `record` sets to "failures"; throws on anything else but "all" for a recorded kind. */
function failuresOnly(record: RecordPolicy | undefined, where: string): ReadonlySet<string> {
  if (record === undefined) return new Set();
  const refused = notAPolicy(record);
  if (refused !== undefined) {
    throw new AuditConfigError(
      `${where}: \`record\` must be an object of event kind → "all" | "failures" (such as { "authn.result": "failures" }), got ${refused}`,
    );
  }
  const entries = Object.entries(record);
  // The Recorder writes checkpoints and summaries itself: no policy applies to them.
  const recordable = EVENT_KINDS.filter((kind) => kind !== "chain.checkpoint" && kind !== "record.summary");
  const unknown = entries.map(([kind]) => kind).filter((kind) => !recordable.some((k) => k === kind));
  if (unknown.length > 0) {
    throw new AuditConfigError(
      `${where}: \`record\` names kinds a record policy does not take: ${unknown.map(shown).join(", ")} (it takes ${recordable.join(", ")})`,
    );
  }
  const failures = new Set<string>();
  for (const [kind, mode] of entries) {
    if (mode === "all" || mode === undefined) continue;
    if (mode !== "failures") {
      throw new AuditConfigError(
        `${where}: \`record["${kind}"]\` must be "all" or "failures", got ${shown(mode)}`,
      );
    }
    if (!SKIPPABLE.has(kind)) {
      throw new AuditConfigError(
        `${where}: \`record["${kind}"]\` must be "all": a ${kind} event is the record of a change, which a count cannot replace`,
      );
    }
    failures.add(kind);
  }
  return failures;
}

/**
 * Why `record` cannot be read as a policy, or undefined: its own enumerable keys are the whole policy.
 * A Map or a Date holds none (its entries live elsewhere) and inherited kinds would be ignored, so
 * either would record everything without a word. An object literal, a class instance or an object of
 * another realm holding its kinds as its own keys is read alike.
 */
function notAPolicy(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return shown(value);
  // "[object Map]", "[object Date]"; "[object Object]" for object literals and class instances.
  const kind = Object.prototype.toString.call(value).slice(8, -1);
  if (kind !== "Object") return `${/^[AEIOU]/.test(kind) ? "an" : "a"} ${kind}`;
  for (const key in value) {
    if (!Object.hasOwn(value, key))
      return `an object inheriting the key ${shown(key)} (give its kinds as its own keys)`;
  }
  return undefined;
}
