/**
 * Most bytes the status message of a thrown status takes in the `grpc-message` trailer, as grpc-js
 * sends it (`encodeURI`: percent-encoded UTF-8, a space takes 3 bytes, "日" 9): 8 KiB. A larger trailer
 * can exceed the client's HTTP/2 header limit, after which that call and every later one on the
 * connection hang to their deadlines.
 * @internal
 */
export const MAX_DETAILS_ENCODED_BYTES = 8192;

/** Ends a cut status message: "%E2%80%A6" once encoded. */
const CUT_MARKER = "…";
const CUT_MARKER_BYTES = encodeURI(CUT_MARKER).length;

/**
 * `details` as a status can carry it: well-formed (a lone surrogate, which `encodeURI` throws on, made
 * U+FFFD, as the Recorder records it) and, when its encoded form is longer than
 * `MAX_DETAILS_ENCODED_BYTES`, its longest start that fits with "…" after it. A character is never split.
 * @internal
 */
export function sendableDetails(details: string): string {
  const text = details.isWellFormed() ? details : details.toWellFormed();
  // A UTF-16 unit encodes to at least 1 byte and at most 9: short text needs no count, and text that
  // may fit (as this function's own result does, passed through it again) one native encoding.
  if (text.length * 9 <= MAX_DETAILS_ENCODED_BYTES) return text;
  if (text.length <= MAX_DETAILS_ENCODED_BYTES && encodeURI(text).length <= MAX_DETAILS_ENCODED_BYTES) {
    return text;
  }
  let bytes = 0;
  let kept = 0; // UTF-16 units of the longest start that leaves room for the marker
  for (let i = 0; i < text.length; i++) {
    // Each character's encoded length counted, not encoded: an encodeURI call per character took
    // about 0.3 ms for 9,000 characters, on the RPC path.
    const unit = text.charCodeAt(i);
    const pair = unit >= 0xd800 && unit <= 0xdbff; // well-formed: a low surrogate follows
    bytes += unit < 0x80 ? (URI_KEPT[unit] === 1 ? 1 : 3) : unit < 0x800 ? 6 : pair ? 12 : 9;
    if (bytes > MAX_DETAILS_ENCODED_BYTES) return `${text.slice(0, kept)}${CUT_MARKER}`;
    if (pair) i++;
    if (bytes <= MAX_DETAILS_ENCODED_BYTES - CUT_MARKER_BYTES) kept = i + 1;
  }
  return text;
}

/** 1 for each ASCII character `encodeURI` leaves as it is; every other one becomes %XX (3 bytes). */
const URI_KEPT = new Uint8Array(128);
for (const character of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789;,/?:@&=+$-_.!~*'()#")
  URI_KEPT[character.charCodeAt(0)] = 1;
