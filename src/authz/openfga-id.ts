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

/**
 * Whether `user` can stand as the user of an OpenFGA check: `type:id`, the type without `:`, `#`, `@`,
 * `*`, whitespace or control characters, and the id one `isValidOpenFgaId` accepts (so never `type:*`,
 * the wildcard, nor a userset `type:id#relation`), within OpenFGA's limit for a user.
 */
export function isValidOpenFgaUser(user: unknown): boolean {
  if (typeof user !== "string") return false;
  const colon = user.indexOf(":");
  if (colon <= 0) return false;
  const type = user.slice(0, colon);
  return (
    !FORBIDDEN_IN_TYPE.test(type) && isValidOpenFgaId(type, user.slice(colon + 1), OPENFGA_MAX_USER_BYTES)
  );
}

/** OpenFGA's limit for an object (`type:id`) in a check, in bytes. */
export const OPENFGA_MAX_OBJECT_BYTES = 256;
/** OpenFGA's limit for a user (`type:id`) in a check, in bytes. */
export const OPENFGA_MAX_USER_BYTES = 512;

// \s covers Unicode whitespace; \p{Cc} covers C0, DEL and C1 controls; with the u flag \p{Cs} matches
// only a surrogate that is not part of a pair.
const FORBIDDEN = /[*:#\s\p{Cc}\p{Cs}]/u;
// OpenFGA type names exclude `:`, `#`, `@` and whitespace; `*` and controls have no place in one either.
const FORBIDDEN_IN_TYPE = /[*:#@\s\p{Cc}\p{Cs}]/u;
