// The `servers` option of the NATS broker and source, checked without ever showing it.
import { AuditConfigError } from "../errors/index.js";

/**
 * Checks `servers`: a server URL or a non-empty list of them. The client takes no server, or "", as
 * nats://127.0.0.1:4222, so an empty one must not mean that. The error begins with `label` (the
 * factory, as "nats broker") and names the bad entry by its position, never its value: a URL may
 * hold a user and password.
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
  if (typeof servers === "string") return undefined;
  if (!Array.isArray(servers)) return `it is ${kind(servers)}`;
  if (servers.length === 0) return "it is an empty list";
  for (const [i, server] of servers.entries()) {
    if (typeof server !== "string") return `servers[${i}] is ${kind(server)}, not a string`;
    if (server === "") return `servers[${i}] is empty`;
  }
  return undefined;
}

/** A value's type, for the message. */
function kind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "a list";
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}
