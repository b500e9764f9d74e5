import type { AuthnResultInput } from "../authn/observer.js";
import type { AuthzDecisionInput } from "../authz/observer.js";
import type { AuthzOutcome } from "../event/builders.js";

/**
 * Counts of authentication attempts and authorization decisions, by outcome: what a dashboard plots
 * (denials over time) without reading events back. Counted when the record call's input is valid,
 * whatever the emitters then do with its event.
 * @internal
 */
export class OutcomeCounts {
  readonly #authn: Record<string, number> = { success: 0 };
  readonly #authz: Record<AuthzOutcome, number> = { allowed: 0, denied: 0, no_rule: 0, error: 0 };

  countAuthn(input: AuthnResultInput): void {
    const key = input.success ? "success" : (input.failureReason ?? "error");
    this.#authn[key] = (this.#authn[key] ?? 0) + 1;
  }

  countAuthz(input: AuthzDecisionInput): void {
    this.#authz[input.decision]++;
  }

  snapshot(): { authn: Record<string, number>; authz: Record<AuthzOutcome, number> } {
    return { authn: { ...this.#authn }, authz: { ...this.#authz } };
  }
}
