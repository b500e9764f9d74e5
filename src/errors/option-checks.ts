import { AuditConfigError } from "./index.js";

/**
 * The longest delay a Node timer holds (2^31 - 1 ms, ~24.8 days): setTimeout and setInterval fire a
 * longer one after 1 ms, so a timeout of "a month" would end every wait at once.
 * @internal
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timer option, checked: a number of ms from `min` to MAX_TIMER_MS (a whole number unless `integer`
 * is false). Throws an AuditConfigError that begins with `label` (the factory and the option, as
 * "ingester: `maxWaitMs`") and shows the bad value.
 * @internal
 */
export function checkTimerMs(
  label: string,
  value: unknown,
  { min = 1, integer = true }: { min?: 0 | 1; integer?: boolean } = {},
): number {
  const fits =
    typeof value === "number" &&
    (integer ? Number.isInteger(value) : Number.isFinite(value)) &&
    value >= min &&
    value <= MAX_TIMER_MS;
  if (!fits) {
    throw new AuditConfigError(
      `${label} must be ${integer ? "an integer" : "a number"} of ms from ${min} to ${MAX_TIMER_MS} (what a timer holds), got ${shown(value)}`,
    );
  }
  return value;
}

/**
 * A bad option or argument as an error message shows it: strings quoted and cut at 40 characters,
 * numbers and the like as written, anything else by its type only (an object may hold credentials).
 * @internal
 */
export function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined)
    return String(value);
  return Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value;
}

/**
 * `name` is absent or a non-empty string: it names an emitter or broker in stats and errors. Throws
 * an AuditConfigError that begins with `label`.
 * @internal
 */
export function checkName(label: string, name: unknown): void {
  if (name !== undefined && (typeof name !== "string" || name === "")) {
    throw new AuditConfigError(`${label}: name must be a non-empty string, got ${shown(name)}`);
  }
}
