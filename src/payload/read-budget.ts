import type { Scalar } from "./scalars.js";

/**
 * How far a reading for JSON may go: `left` starts at the characters (UTF-16 units) of JSON wanted and
 * goes down by a lower bound of the characters each value read writes (field names, strings, brackets;
 * at least one per number). Once below zero, the JSON certainly passes what is wanted, and the reading
 * stops: no further field, list element or map entry of any message is read (a map's keys are all
 * looked at, its entries read in the key order its JSON writes them). What was read is then the start
 * of the message, in the order its JSON writes it.
 * @internal
 */
export interface ReadBudget {
  left: number;
  /** The most characters of one string or bytes value the JSON shows (base64 is decoded only as far). */
  readonly chars: number;
}

/**
 * Fewest JSON characters a value writes: a string its length and quotes, bytes their base64, a number 1,
 * a message none (it counts its own).
 * @internal
 */
export function valueChars(value: Scalar | object): number {
  if (typeof value === "string") return value.length + 2;
  if (value instanceof Uint8Array) return Math.ceil(value.length / 3) * 4 + 2;
  if (typeof value === "boolean") return 4;
  if (typeof value === "bigint") return 3;
  return typeof value === "number" ? 1 : 0; // a message counted its own
}
