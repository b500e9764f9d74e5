// Stored text is attacker-controlled (a target id, a reason, an actor name came from a request):
// printed raw to a terminal it could move the cursor, clear the screen, reorder a line (bidi) or
// start a new line that looks like a row. These helpers make every such character visible.

/**
 * What `visible` rewrites: the backslash (so the notation stays unambiguous), C0 controls, DEL, C1
 * controls, the bidi marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
 * U+202A–U+202E, U+2066–U+2069) and the line and paragraph separators (U+2028, U+2029).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** The same set without the backslash and the C0 controls, which JSON.stringify escapes already. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

const hex = (char: string, digits: number) => (char.codePointAt(0) ?? 0).toString(16).padStart(digits, "0");

/**
 * Text for a terminal: `\` becomes `\\`; newline, carriage return and tab become `\n`, `\r`, `\t`;
 * other C0 controls, DEL and C1 controls become `\xHH` (ESC is `\x1b`); the bidi and separator
 * characters become `\uHHHH` (`\u202e`). Everything else is unchanged.
 */
export function visible(text: string): string {
  return text.replace(
    UNSAFE,
    (char) => NAMED[char] ?? (char < "\u0100" ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`),
  );
}

/**
 * JSON text with DEL, C1, bidi and separator characters written as `\uHHHH` escapes: the same JSON
 * value (a parser reads back the exact stored strings), but safe to print to a terminal.
 */
export function terminalSafeJson(json: string): string {
  // Outside strings JSON has only ASCII, so every match is inside a string, where `\uHHHH` is valid.
  return json.replace(UNSAFE_IN_JSON, (char) => `\\u${hex(char, 4)}`);
}
