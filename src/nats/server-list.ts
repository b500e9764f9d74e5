// The `servers` option of the NATS broker and source, checked without ever showing it.
import { Servers } from "@nats-io/transport-node";
import { AuditConfigError } from "../errors/index.js";

/**
 * Checks `servers`: a server URL or a non-empty list of them, each one the client can read, none
 * with a user, password or token (the client ignores them there: they go in `connectOptions`). The
 * client takes no server, or "", as nats://127.0.0.1:4222, so an empty one must not mean that. The
 * error begins with `label` (the factory, as "nats broker") and names the bad entry by its position,
 * never its value: a URL may hold a user and password.
 * @internal
 */
export function checkServers(label: string, servers: unknown): void {
  const problem = serversProblem(servers);
  if (problem !== undefined)
    throw new AuditConfigError(
      `${label}: \`servers\` must be a server URL or a non-empty list of them; ${problem}`,
    );
}

function serversProblem(servers: unknown): string | undefined {
  if (servers === "") return "it is empty";
  if (typeof servers === "string") {
    if (servers.includes(",")) return `it holds a comma: ${ONE_EACH}`;
    // The client cannot read a user and password before a host name either: say why first.
    if (holdsMoreThanAddress(servers)) return `it ${USER_INFO}`;
    return readable(servers) ? undefined : `it is ${NOT_A_URL}`;
  }
  if (!Array.isArray(servers)) return `it is ${kind(servers)}`;
  if (servers.length === 0) return "it is an empty list";
  for (const [i, server] of servers.entries()) {
    if (typeof server !== "string") return `servers[${i}] is ${kind(server)}, not a string`;
    if (server === "") return `servers[${i}] is empty`;
    if (server.includes(",")) return `servers[${i}] holds a comma: ${ONE_EACH}`;
    if (!readable(server))
      return `servers[${i}] ${holdsMoreThanAddress(server) ? USER_INFO : `is ${NOT_A_URL}`}`;
  }
  // After every entry is read: a list the client cannot use at all is named as such first.
  const withMore = servers.findIndex((server: string) => holdsMoreThanAddress(server));
  return withMore === -1 ? undefined : `servers[${withMore}] ${USER_INFO}`;
}

// The client reads "a:4222,b:4222" as one address, the last: every other server would be lost.
const ONE_EACH = "give a list with one server URL each (split a NATS_URL-style list on commas)";

// The client reads no user or password in a URL (it keeps only host and port): they go in connectOptions.
const NOT_A_URL =
  "not a server URL the client can read (host and port, such as nats://nats-1:4222; a port up to " +
  "65535; a user and password go in `connectOptions`)";

// The client drops a URL's user info (only host and port are kept), so the server refuses the
// connection ("Authorization Violation") though the credentials were given.
const USER_INFO =
  "holds a user, password or token, or a path, query or fragment (`?token=…`): the client reads only " +
  "host and port in a server URL; give credentials in `connectOptions` (user and pass, token, or authenticator)";

/**
 * Whether `server` holds user info (`nats://alice:…@host`, `nats://<token>@host`, `alice:…@host`) or
 * anything past host and port (`nats://host:4222?token=…`, a path, a fragment), read as the client
 * reads the address: any scheme dropped, the rest as an http URL.
 */
function holdsMoreThanAddress(server: string): boolean {
  const rest = server.trim().replace(/^.*:\/\//, "");
  try {
    const url = new URL(`http://${rest}`);
    // A token may be written anywhere past the host: `?token=…`, `/…`, `#…`.
    const past = url.search !== "" || url.hash !== "" || url.pathname !== "/";
    return url.username !== "" || url.password !== "" || past;
  } catch {
    // A bare IPv6 address (`::1`), which the client brackets first: it holds no "@".
    return false;
  }
}

/**
 * Whether the client reads `server` as an address. Asked of the client's own parser, which connect
 * uses: what it refuses, Node's URL refuses with a TypeError whose `input` holds the whole entry,
 * password included, which loggers print.
 */
function readable(server: string): boolean {
  try {
    new Servers().setServers([server]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checked `servers` as the client connects to them, for errors: host and port only (the client reads
 * nothing else), so no user, password or token is shown. As "127.0.0.1:4222, nats-2.internal:4222".
 * @internal
 */
export function shownServers(servers: string | readonly string[]): string {
  const pool = new Servers();
  pool.setServers(typeof servers === "string" ? [servers] : [...servers]);
  return pool
    .getServers()
    .map((server) => server.listen)
    .join(", ");
}

/** A value's type, for the message. */
function kind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "a list";
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}
