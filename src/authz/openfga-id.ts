/**
 * Whether `id` can stand as the id part of an OpenFGA `type:id`, as a subject or object of a check.
 * Refused: empty ids; `*` (in `user:*` it is OpenFGA's wildcard: "every user"); `:` and `#` (they
 * separate type, id and relation, so an id holding them names a different object or a userset);
 * whitespace and control characters (OpenFGA rejects whitespace; control characters have no place in
 * an id); lone surrogates (not text: sent as JSON escapes, OpenFGA reads each as U+FFFD, so "a\uD800"
 * and "a\uDC00" would name one object); and ids that make the whole `type:id` longer than OpenFGA
 * accepts (`maxBytes`, in UTF-8 bytes).
 */
export function isValidOpenFgaId(type: string, id: string, maxBytes: number): boolean {
  return (
    id !== "" &&
    !FORBIDDEN.test(id) &&
    // Most ids are ASCII; only long ones need the exact UTF-8 count.
    (type.length + 1 + id.length * 3 <= maxBytes || Buffer.byteLength(`${type}:${id}`) <= maxBytes)
  );
}

/** OpenFGA's limit for an object (`type:id`) in a check, in bytes. */
export const OPENFGA_MAX_OBJECT_BYTES = 256;
/** OpenFGA's limit for a user (`type:id`) in a check, in bytes. */
export const OPENFGA_MAX_USER_BYTES = 512;

// \s covers Unicode whitespace; \p{Cc} covers C0, DEL and C1 controls; with the u flag \p{Cs} matches
// only a surrogate that is not part of a pair.
const FORBIDDEN = /[*:#\s\p{Cc}\p{Cs}]/u;
