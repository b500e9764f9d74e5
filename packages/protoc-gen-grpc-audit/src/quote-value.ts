/**
 * How build errors show a value taken from a .proto file (an option's string, an id path, a default): in
 * double quotes, every character that cannot be seen or that looks like a plain space escaped, and a long
 * value cut to its start, so that `"a\u2028b"` and `"a\u00a0b"` read differently from `"a b"`, and one
 * line of 100,000 characters does not become the error.
 */

/**
 * Characters a message shows as `\uXXXX`: control and format characters (U+007F–U+009F, U+200B, U+FEFF,
 * the bidi controls), and every space or separator but U+0020 (U+00A0, U+2028, U+3000). JSON.stringify
 * escapes only U+0000–U+001F, `"` and `\`, and lone surrogates.
 */
const INVISIBLE = /(?! )[\p{Cc}\p{Cf}\p{Z}]/gu;

/** The longest value shown in full, in characters (code points). */
const LONGEST_SHOWN = 128;

/** How many characters of a value a cut shows. */
const SHOWN_START = 20;

/**
 * `value` quoted and escaped (`"a\u2028b"`); longer than 128 characters, cut as `quoteValueStart` cuts
 * it.
 */
export function quoteValue(value: string): string {
  return [...value].length > LONGEST_SHOWN ? quoteValueStart(value) : quote(value);
}

/**
 * The start of `value`, for a value whose length is the problem or that is too long to show: its first
 * 20 characters quoted, escaped and followed by "…", then its length, as `"abc…" (300 characters)`; a
 * value of 20 characters or fewer is shown in full.
 */
export function quoteValueStart(value: string): string {
  const characters = [...value];
  if (characters.length <= SHOWN_START) return quote(value);
  return `${quote(`${characters.slice(0, SHOWN_START).join("")}…`)} (${characters.length} characters)`;
}

function quote(value: string): string {
  return JSON.stringify(value).replace(INVISIBLE, (character) => {
    // One \uXXXX per UTF-16 code unit, as JSON writes a character outside the BMP.
    let escaped = "";
    for (let i = 0; i < character.length; i++) {
      escaped += `\\u${character.charCodeAt(i).toString(16).padStart(4, "0")}`;
    }
    return escaped;
  });
}
