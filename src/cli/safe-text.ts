// Stored text is attacker-controlled (a target id, a reason, an actor name came from a request):
// printed raw to a terminal it could move the cursor, clear the screen, reorder a line (bidi) or
// start a new line that looks like a row. These helpers make every such character visible.

/**
 * What `visible` rewrites: the backslash (so the notation stays unambiguous), C0 controls, DEL, C1
 * controls, the invisible format characters (Unicode category Cf: the bidi marks, embeddings,
 * overrides and isolates, zero-width spaces and joiners, the word joiner, the BOM, the soft hyphen,
 * tag characters; an id with them would print like another id), the other characters Unicode says
 * to draw as nothing (Default_Ignorable_Code_Point: variation selectors such as U+FE0F, the combining
 * grapheme joiner U+034F, Hangul fillers such as U+115F) and the line and paragraph separators
 * (U+2028, U+2029).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

/** The same set without the backslash and the C0 controls, which JSON.stringify escapes already. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;

const NAMED: Readonly<Record<string, string>> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

const hex = (char: string, digits: number) => (char.codePointAt(0) ?? 0).toString(16).padStart(digits, "0");

/**
 * Text for a terminal: `\` becomes `\\`; newline, carriage return and tab become `\n`, `\r`, `\t`;
 * other C0 controls, DEL and C1 controls become `\xHH` (ESC is `\x1b`); the format, default-ignorable
 * and separator characters become `\uHHHH` (`\u202e`, `\u200b`, `\ufe0f`), or `\u{HHHHH}` beyond
 * U+FFFF (`\u{e0041}`).
 * Everything else is unchanged.
 */
export function visible(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const named = NAMED[char];
    if (named !== undefined) return named;
    if (char < "\u0100") return `\\x${hex(char, 2)}`;
    return char.length === 1 ? `\\u${hex(char, 4)}` : `\\u{${hex(char, 5)}}`;
  });
}

/**
 * JSON text with DEL, C1, format, default-ignorable and separator characters written as `\uHHHH`
 * escapes: the same JSON value (a parser reads back the exact stored strings), but safe to print to a
 * terminal.
 */
export function terminalSafeJson(json: string): string {
  // Outside strings JSON has only ASCII, so every match is inside a string, where `\uHHHH` is valid.
  // A character beyond U+FFFF (a tag) is two UTF-16 units, each written as its own escape.
  return json.replace(UNSAFE_IN_JSON, (char) =>
    Array.from(
      { length: char.length },
      (_, i) => `\\u${char.charCodeAt(i).toString(16).padStart(4, "0")}`,
    ).join(""),
  );
}
