// Reading a postgres:// connection string for names and errors, without pg: the CLI names a store
// with it before (or without) loading the optional peer.

/**
 * The connection string as a URL, or undefined if it is not a postgres:// or postgresql:// one. A
 * libpq socket URL with credentials and no host (`postgresql://user:pw@/db?host=/run/postgresql`),
 * which pg takes but the WHATWG parser refuses, is read with a stand-in host, as pg-connection-string
 * does, and given back with an empty one.
 */
function parse(connectionString: string): { url: URL; host: string } | undefined {
  let url: URL;
  let host: string;
  try {
    url = new URL(connectionString);
    host = url.host;
  } catch {
    const socket = /^(postgres(?:ql)?:\/\/[^/?#]*@)([/?#].*)?$/is.exec(connectionString);
    if (socket === null) return undefined;
    try {
      url = new URL(`${socket[1]}host${socket[2] ?? ""}`);
    } catch {
      return undefined;
    }
    host = "";
  }
  return url.protocol === "postgres:" || url.protocol === "postgresql:" ? { url, host } : undefined;
}

/** The URL without its password and query (`postgres://user@host:5432/db`), or undefined if it is not one. */
export function redact(connectionString: string): string | undefined {
  const parsed = parse(connectionString);
  if (parsed === undefined) return undefined;
  const { url, host } = parsed;
  const user = url.username === "" ? "" : `${url.username}@`;
  return `${url.protocol}//${user}${host}${url.pathname}`;
}

/**
 * `error` with the password of `connectionString` masked where a message shows it: in the URL's
 * own form, between ":" and "@" (a URL or its user part repeated), as written or decoded. Not
 * anywhere else: a password that is a word (`exist`) would mask the server's own words.
 * @internal
 */
export function scrubbed(error: Error, connectionString: string | undefined): Error {
  if (connectionString === undefined) return error;
  const url = parse(connectionString)?.url;
  if (url === undefined || url.password === "") return error;
  let message = error.message;
  for (const password of new Set([url.password, decoded(url.password), written(connectionString)])) {
    if (password !== "") message = message.replaceAll(`:${password}@`, ":***@");
  }
  return message === error.message ? error : new Error(message);
}

/**
 * `error` (pg's or the network's, whose words say neither the store nor which: `connect ECONNREFUSED
 * …` while the server restarts) as `postgres store <label>: <message>`, the password masked as
 * `scrubbed` does. Its SQLSTATE `code` and `severity` stay on it, so it is read as pg's; `error` is its
 * cause unless its message showed the password. One naming the store already is `error` itself.
 * @internal
 */
export function storeError(error: Error, label: string, connectionString: string | undefined): Error {
  const prefix = `postgres store ${label}: `;
  if (error.message.startsWith(prefix)) return error;
  const shown = scrubbed(error, connectionString);
  const named = new Error(`${prefix}${shown.message}`, shown === error ? { cause: error } : {});
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  if (typeof code === "string") Object.assign(named, { code });
  if (typeof severity === "string") Object.assign(named, { severity });
  return named;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The password as the connection string writes it (up to the authority's last "@"), else "". */
function written(connectionString: string): string {
  const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(connectionString)?.[1] ?? "";
  const user = authority.slice(0, authority.lastIndexOf("@") + 1);
  const colon = user.indexOf(":");
  return colon === -1 ? "" : user.slice(colon + 1, -1);
}

/** The modes pg (8.x) takes as `verify-full`, warning each time that its next major version will not. */
const VERIFY_FULL_ALIASES = new Set(["prefer", "require", "verify-ca"]);

/**
 * The connection string as given to pg: `sslmode=prefer`, `require` or `verify-ca` written as
 * `verify-full`, which is what pg does with them today (verify the certificate and the host name),
 * said explicitly, so pg prints no `SECURITY WARNING` and a later pg gives them no weaker meaning.
 * Left as it is with `uselibpqcompat=true` (libpq's meanings, asked for) and without a query; another
 * `uselibpqcompat` value (`false`, empty) asks pg for nothing, so the modes are written out then too.
 * @internal
 */
export function explicitSslMode(connectionString: string): string {
  const start = connectionString.indexOf("?");
  const hash = connectionString.indexOf("#");
  if (start === -1 || (hash !== -1 && hash < start)) return connectionString;
  const end = hash === -1 ? connectionString.length : hash;
  const pairs = connectionString.slice(start + 1, end).split("&");
  // Read as pg reads them (URLSearchParams): names and values decoded, "+" a space.
  const read = (pair: string) => [...new URLSearchParams(pair)][0] ?? ["", ""];
  // pg-connection-string keeps a name's last value and honours `config.uselibpqcompat === 'true'` only.
  const compat = pairs.map(read).findLast(([name]) => name === "uselibpqcompat");
  if (compat?.[1] === "true") return connectionString;
  const query = pairs.map((pair) => {
    const [name, value] = read(pair);
    return name === "sslmode" && VERIFY_FULL_ALIASES.has(value) ? "sslmode=verify-full" : pair;
  });
  return `${connectionString.slice(0, start + 1)}${query.join("&")}${connectionString.slice(end)}`;
}

/**
 * Said after an error about a postgres:// URL whose user name or password may hold a character it
 * must percent-encode: the URL is then split at it ("p#ss" makes "p" the port), and the error names
 * a part the user did not mean. @internal
 */
export const PERCENT_ENCODE_HINT =
  'if its user name or password holds "#", "/", "?" or a space, percent-encode it (%23, %2F, %3F, %20) or give the password in PGPASSWORD';

/**
 * True when an "@" comes after a postgres:// URL's host, outside a query parameter's value: in its
 * path, its fragment, or a query part without "=" before it. A URL's user name and password end at
 * its first "/", "?" or "#", so such an "@" is most likely part of a password holding one of them
 * unencoded, and what the URL parser takes for the host (shown, and looked up in DNS) is part of it.
 */
function strayAt(connectionString: string): boolean {
  const rest = /^postgres(?:ql)?:\/\/[^/?#]*(.*)$/is.exec(connectionString)?.[1] ?? "";
  const hash = rest.indexOf("#");
  const beforeHash = hash === -1 ? rest : rest.slice(0, hash);
  if (hash !== -1 && rest.includes("@", hash)) return true;
  const query = beforeHash.indexOf("?");
  if ((query === -1 ? beforeHash : beforeHash.slice(0, query)).includes("@")) return true;
  if (query === -1) return false;
  return beforeHash
    .slice(query + 1)
    .split("&")
    .some((pair) => {
      const at = pair.indexOf("@");
      const equals = pair.indexOf("=");
      return at !== -1 && (equals === -1 || at < equals);
    });
}

/**
 * What is wrong with a postgres:// URL that the URL parser or pg would take in a way the user did not
 * mean, else undefined: an "@" after its host (see strayAt), or a port (in its authority, or a `port`
 * parameter) that is not a number, 0 or beyond 65535, or an IPv6 host whose "]" is missing (`[::1/db`),
 * whose colons would be read as a port. Never shows a password: a port is read after the authority's
 * last "@". An error about a URL whose user name or password may hold a space says how to encode it.
 * @internal
 */
export function urlProblem(connectionString: string): string | undefined {
  if (strayAt(connectionString)) return `has an "@" after its host; ${PERCENT_ENCODE_HINT}`;
  const problem = portProblem(connectionString) ?? queryPortProblem(connectionString);
  return problem !== undefined && spaceInUserInfo(connectionString)
    ? `${problem}; ${PERCENT_ENCODE_HINT}`
    : problem;
}

/** True when a postgres:// URL's user name or password holds a space (or another blank). @internal */
export function spaceInUserInfo(connectionString: string): boolean {
  const userInfo = /^postgres(?:ql)?:\/\/([^/?#]*)@/is.exec(connectionString)?.[1];
  return userInfo !== undefined && /\s/.test(userInfo);
}

/** What is wrong with a `port` parameter of the URL's query (pg takes it over the authority's). */
function queryPortProblem(connectionString: string): string | undefined {
  const start = connectionString.indexOf("?");
  if (start === -1) return undefined;
  const hash = connectionString.indexOf("#", start);
  const query = new URLSearchParams(connectionString.slice(start + 1, hash === -1 ? undefined : hash));
  for (const port of query.getAll("port")) {
    const problem = portNumberProblem(port, "a `port` parameter", "`port` parameter");
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/** What is wrong with `port`, a port's digits: not a number, 0, or beyond 65535. */
function portNumberProblem(port: string, some: string, named: string): string | undefined {
  if (!/^\d+$/.test(port)) return `has ${some} that is not a number`;
  const shown = port.length > 10 ? `${port.slice(0, 10)}…` : port;
  if (Number(port) === 0) return `has ${named} ${shown}, below 1`;
  return Number(port) > 65_535 ? `has ${named} ${shown}, beyond 65535` : undefined;
}

function portProblem(connectionString: string): string | undefined {
  const authority = /^postgres(?:ql)?:\/\/([^/?#]*)/i.exec(connectionString)?.[1];
  if (authority === undefined) return undefined;
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  if (hostPort.startsWith("[") && !hostPort.includes("]"))
    return 'has an IPv6 host with no closing "]" (postgres://user@[::1]:5432/db)';
  const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[1];
  if (port === undefined || port === "") return undefined;
  return portNumberProblem(port, "a port", "port");
}
