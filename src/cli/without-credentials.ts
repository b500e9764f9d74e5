/**
 * A value that names a store or a broker (a URL, a list of them, or anything holding one) as it may be
 * shown: each `user:password@` before a host replaced by `…@`, with or without a scheme, wherever it is
 * (after a space, a quote or a comma: `" postgres://…"`, `postgres//u:pw@db`, `k1:9092, u:pw@k2:9092`),
 * and the user (a token) of `nats://user@host` (any scheme but PostgreSQL's). Up to the last "@"
 * before a host: a password may hold "/", "," or "@" unencoded.
 */
export function withoutCredentials(text: string): string {
  return text.replace(USER_AND_PASSWORD, "$1$2…@").replace(USER_ONLY, "$1…@");
}

/** Whether `text` holds a part that `withoutCredentials` hides. */
export function holdsCredentials(text: string): boolean {
  return withoutCredentials(text) !== text;
}

// Starts at the text's start, after a space, quote or comma, or after "//"; an optional scheme is kept.
const USER_AND_PASSWORD =
  /(^|[\s"'`,]|\/\/)((?:[a-z][a-z0-9+.-]*:(?:\/\/)?)(?=[^\s"'`]*@))?[^\s"'`,@/]*:(?!\/\/)[^\s"'`]*@(?=[\w[])/gi;
// A user alone names no secret in a PostgreSQL URL, but is the token in `nats://token@host`.
const USER_ONLY = /(?<!postgres(?:ql)?:)(\/\/)[^\s"'`,@/:…]+@(?=[\w[])/gi;
