/**
 * The check of a name: an authz rule's `relation` and `object_type`, and an audit rule's `target_type`,
 * which events record as `target.type` just as authz decisions record the object type.
 */

import { quoteValue, quoteValueStart } from "./quote-value.js";

/**
 * OpenFGA type and relation names: no whitespace, and none of the separators of "type:id#relation@user";
 * nor control characters, which would be written raw into the generated file and every event.
 */
const NAME = /^[^\s\p{Cc}:#@]+$/u;

/** OpenFGA's longest names, in characters (its naming rules `^[^:#@\s]{1,254}$` and `{1,50}$`). */
const MAX_NAME_LENGTH = { relation: 50, type: 254 } as const;

/**
 * Why `value` is not a valid `what` name, as the rest of a problem after its option path (`: must not be
 * empty`, ` "<value>": <reason>`), or undefined when it is valid. The value is shown as `quoteValue`
 * shows it: `"a\u2028b"`, not a line break or what reads as a space.
 */
export function nameProblem(value: string, what: "relation" | "type"): string | undefined {
  if (value === "") return ": must not be empty";
  const tooLong = [...value].length > MAX_NAME_LENGTH[what];
  // A name too long is shown by its start: all of it could be a line of 100,000 characters.
  const shown = tooLong ? quoteValueStart(value) : quoteValue(value);
  if (!NAME.test(value)) {
    return ` ${shown}: not an OpenFGA ${what} name (no whitespace, control characters, ":", "#" or "@")`;
  }
  if (tooLong) {
    return ` ${shown}: longer than the ${MAX_NAME_LENGTH[what]} characters of an OpenFGA ${what} name`;
  }
  return undefined;
}
