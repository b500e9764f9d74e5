import { isAttributeKey, MAX_ATTRIBUTES } from "../event/limits.js";
import type { Rewrite } from "./status-message.js";

/** The `attributes` of one event, and how many entries offered for it were left out. */
export interface EventAttributes {
  attributes: Record<string, string>;
  /** Entries beyond `MAX_ATTRIBUTES`, with a bad key, or with a value that is not a string. */
  dropped: number;
}

/**
 * The `attributes` map of an event: the record call's own entries first, then the call's (those set
 * with `setAuditAttribute`) for keys the record call does not name, up to `MAX_ATTRIBUTES` entries.
 * Each value is redacted with `redact`; cutting it to size is left to `limitEventText`, after the
 * redaction, so a secret across the cut leaves no piece behind. Never throws unless `redact` does.
 *
 * @param given The checked copy of the input's `attributes` (values not checked yet).
 * @param call The attributes of the call's audit scope.
 */
export function eventAttributes(
  given: Readonly<Record<string, unknown>> | undefined,
  call: ReadonlyMap<string, string> | undefined,
  redact: Rewrite,
): EventAttributes {
  const attributes: Record<string, string> = {};
  if (given === undefined && call === undefined) return { attributes, dropped: 0 };
  let kept = 0;
  let dropped = 0;
  const keep = (key: string, value: string) => {
    // defineProperty: a "__proto__" key becomes an entry, not the object's prototype.
    Object.defineProperty(attributes, key, {
      value: redact === undefined ? value : redact(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    kept++;
  };
  for (const key in given) {
    const value = given[key];
    if (kept < MAX_ATTRIBUTES && isAttributeKey(key) && typeof value === "string") keep(key, value);
    else dropped++;
  }
  // The scope holds valid keys and string values only (setAuditAttribute checks them).
  for (const [key, value] of call ?? []) {
    if (Object.hasOwn(attributes, key)) continue; // the record call's own entry wins
    if (kept < MAX_ATTRIBUTES) keep(key, value);
    else dropped++;
  }
  return { attributes, dropped };
}
