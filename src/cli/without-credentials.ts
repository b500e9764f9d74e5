/** What a value is shown as when no part of it can be shown without its password. */
export const HIDDEN_VALUE = "<value with credentials hidden>";

// A scheme of two characters or more (one is a Windows drive, `C:\…`), after a space or quotes
// (docker --env-file keeps them): `scheme://`, `scheme:` or `scheme//` (a colon forgotten), or `//`.
const URL_START = /^[\s"'`]*(?:[a-z][a-z0-9+.-]+(?::(?:\/\/)?|\/\/)|\/\/)/i;
const ONLY_WITH_SLASHES = /^[\s"'`]*(?:[a-z][a-z0-9+.-]+:?)?\/\//i;

// libpq's connection keywords (the PostgreSQL manual, "Parameter Key Words"). A typo of one
// (`passwrd=`) is not caught; every real keyword is.
const LIBPQ_KEYWORDS = [
  "host",
  "hostaddr",
  "port",
  "dbname",
  "user",
  "password",
  "passfile",
  "require_auth",
  "channel_binding",
  "connect_timeout",
  "client_encoding",
  "options",
  "application_name",
  "fallback_application_name",
  "keepalives",
  "keepalives_idle",
  "keepalives_interval",
  "keepalives_count",
  "tcp_user_timeout",
  "replication",
  "gssencmode",
  "sslmode",
  "requiressl",
  "sslnegotiation",
  "sslcompression",
  "sslcert",
  "sslkey",
  "sslkeylogfile",
  "sslpassword",
  "sslcertmode",
  "sslrootcert",
  "sslcrl",
  "sslcrldir",
  "sslsni",
  "requirepeer",
  "ssl_min_protocol_version",
  "ssl_max_protocol_version",
  "krbsrvname",
  "gsslib",
  "gssdelegation",
  "service",
  "target_session_attrs",
  "load_balance_hosts",
];
// A keyword at the start or after a space (or quotes, which docker --env-file keeps), then "=":
// `host=db password=…`, `user = audit`. Not after "/": `./data/user=alice/audit.db` is a SQLite path.
const LIBPQ_PAIR = new RegExp(`(?:^|[\\s"'\`])(?:${LIBPQ_KEYWORDS.join("|")})\\s*=`, "i");
// Another product's connection string (ADO.NET, JDBC, ODBC: `Server=db;User Id=audit;Password=…`):
// a password keyword at the start or after a space, quotes, ";" or "&", then "=".
const PASSWORD_PAIR = /(?:^|[\s"'`;&])(?:password|pwd|passwd)\s*=/i;

/**
 * Whether `text` looks like a keyword/value connection string, in a value that does not start as a
 * path does ("/", "./", "../"): libpq's (`host=db user=audit password=…`: a libpq keyword at its
 * start or after a space or quotes, then "="), or another product's with a password in it
 * (`Server=db;Password=…`: `password`, `pwd` or `passwd` after a ";" or "&" too, in a value that
 * does not start as a URL does). Such a value names no SQLite file, and may hold a password anywhere.
 */
export function isConnectionString(text: string): boolean {
  // A path ("/", "./", "../") is a file: no connection string starts so.
  if (/^\.{0,2}\//.test(text)) return false;
  // A value that starts as a URL is the URL rule's (`withoutCredentials`), with a password pair in it
  // (`jdbc:sqlserver://db;password=…`) or in its query (`jdbc:postgresql://db/a?password=…`).
  return LIBPQ_PAIR.test(text) || (!URL_START.test(text) && PASSWORD_PAIR.test(text));
}

/**
 * A store or broker value as it may be shown. When it starts (after a space or quotes) with a scheme
 * or `//` and holds an "@" after it, everything from there to its last "@" is replaced by "…" (a
 * password may hold quotes, "/", "," or "@" unencoded): `"postgres://…@db/audit"`, `kafka://…@k2:9092`;
 * the whole value is {@link HIDDEN_VALUE} when a space or a "?" stands in that part (what it splits is
 * unknown: a password in a query may hold an "@").
 * Its query is replaced by "…" too, as a password may be given there: `nats://h:4222?…`.
 * Such a value with a password pair before its query (`password`, `pwd` or `passwd` after a ";" or
 * "&", then "=": a JDBC or SQL Server URL, `jdbc:sqlserver://db;user=sa;password=…`) is
 * {@link HIDDEN_VALUE}: where that password ends is unknown.
 * A keyword/value connection string (`host=db password=…`, `Server=db;Password=…`, see
 * {@link isConnectionString}) is {@link HIDDEN_VALUE}: any of its pairs may be a password.
 * Anything else is returned as it is: a SQLite path such as `/data/logs:2026@node1.db`.
 */
export function withoutCredentials(text: string): string {
  if (isConnectionString(text)) return HIDDEN_VALUE;
  const start = URL_START.exec(text)?.[0];
  if (start === undefined) return text;
  // A query shown as "?…" hides a pair in it; a pair before it would be shown, and may run on past a "?".
  const firstQuery = text.indexOf("?", start.length);
  if (PASSWORD_PAIR.test(firstQuery === -1 ? text : text.slice(0, firstQuery))) return HIDDEN_VALUE;
  const last = text.lastIndexOf("@");
  const hasUser = last >= start.length;
  // A space, or a "?" before the last "@", stands where a password may be: what it splits is unknown.
  if (hasUser && /[\s?]/.test(text.slice(start.length, last))) return HIDDEN_VALUE;
  const rest = hasUser ? text.slice(last) : text.slice(start.length);
  const query = rest.indexOf("?");
  const shownRest = query === -1 ? rest : `${rest.slice(0, query)}?…`;
  return `${start}${hasUser ? "…" : ""}${shownRest}`;
}

/**
 * Whether a store value (--db, --to, GRPC_AUDIT_DB) that is not a postgres:// URL may hold
 * credentials: a URL that starts (after a space or quotes) with `scheme:`, `scheme//` or `//`, and an
 * "@", a query ("?") or a password pair after a ";" or "&" (`;password=`, `;PWD =`) follows; or a
 * keyword/value connection string. A path holding ":" and "@" further on (`/srv//node:1@eu/audit.db`),
 * or "password" with no "=" after it (`./password-audit.db`), is a SQLite file.
 */
export function storeHoldsCredentials(text: string): boolean {
  return withoutCredentials(text) !== text;
}

/**
 * Whether a broker list (--from) holds credentials: any "@", which no broker address holds, or a
 * password pair after a space, quotes, ";" or "&" (`nats://h:4222;password=…`).
 */
export function holdsCredentials(text: string): boolean {
  return text.includes("@") || PASSWORD_PAIR.test(text);
}

/**
 * Whether any value given on the command line holds credentials: a URL (`scheme://`, `scheme//` or
 * `//`) with an "@", a query or a `;password=` pair after it. Not `user:alice@example.com` nor
 * `C:\Users\me@corp\…`.
 */
export function urlHoldsCredentials(text: string): boolean {
  return ONLY_WITH_SLASHES.test(text) && withoutCredentials(text) !== text;
}
