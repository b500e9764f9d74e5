// sendableDetails counts each character's percent-encoded length instead of encoding it: the cut must
// stay exactly where encoding each character with encodeURI puts it, for every kind of character.
import { describe, expect, it } from "vitest";
import { MAX_DETAILS_ENCODED_BYTES, sendableDetails } from "../../src/server/status-details.js";

/** The cut as encoding each character gives it: the longest start that fits with "…" after it. */
function cutByEncoding(details: string): string {
  const text = details.toWellFormed();
  if (encodeURI(text).length <= MAX_DETAILS_ENCODED_BYTES) return text;
  const marker = encodeURI("…").length;
  let bytes = 0;
  let kept = 0;
  for (const character of text) {
    bytes += encodeURI(character).length;
    if (bytes > MAX_DETAILS_ENCODED_BYTES - marker) break;
    kept += character.length;
  }
  return `${text.slice(0, kept)}…`;
}

/** Characters of every encoded length: kept ASCII, escaped ASCII, 2-, 3- and 4-byte UTF-8, lone halves. */
const ALPHABET = [
  ..."aZ09;,/?:@&=+$-_.!~*'()#",
  ...' %"<>[]\\^`{|}\u0000\u007f',
  "é",
  "\u07ff",
  "\u0800",
  "日",
  "\uffff",
  "😀",
  "\ud800",
  "\udfff",
];

/** A deterministic pseudo-random text of `length` characters drawn from ALPHABET. */
function text(seed: number, length: number): string {
  let state = seed;
  let out = "";
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    out += ALPHABET[state % ALPHABET.length];
  }
  return out;
}

describe("sendableDetails' cut", () => {
  it("matches encoding each character on mixed texts around the limit", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const details = text(seed, 900 + seed * 97);
      expect(sendableDetails(details)).toBe(cutByEncoding(details));
    }
  });

  it("matches it for each kind of character alone, and never splits a surrogate pair", () => {
    for (const character of ALPHABET) {
      const details = character.repeat(9000);
      const cut = sendableDetails(details);
      expect(cut).toBe(cutByEncoding(details));
      expect(cut.isWellFormed()).toBe(true);
      expect(encodeURI(cut).length).toBeLessThanOrEqual(MAX_DETAILS_ENCODED_BYTES);
    }
  });
});
