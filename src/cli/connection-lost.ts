/**
 * Node's network failures of a connection. ENOTFOUND counts: a follower reaches this only after its
 * first read resolved the same name, so a later failure is the resolver's (a typo fails at the start).
 */
const NETWORK = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
]);
/**
 * PostgreSQL's codes for a server going away or not yet back: admin_shutdown, crash_shutdown,
 * cannot_connect_now (starting up or shutting down) and the connection exceptions of class 08 that
 * mean a lost connection. Not a refused login (28…) or a missing database (3D000): those stay.
 */
const SERVER_GONE = new Set(["57P01", "57P02", "57P03", "08000", "08003", "08006"]);
/** pg's own messages for a connection that ended under a statement. */
const PG_CLIENT =
  /^(Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Connection terminated( unexpectedly)?)$/;

/**
 * Whether `error` says the connection to a store's server is lost or refused for now (a restart, a
 * network cut), so that reading again later may succeed: what a follower waits out.
 */
export function isConnectionLost(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (NETWORK.has(code) || SERVER_GONE.has(code))) return true;
  if (PG_CLIENT.test(error.message)) return true;
  // The PostgreSQL store names pg's errors (`postgres store …: Connection terminated`): pg's is the cause.
  return error.cause instanceof Error && PG_CLIENT.test(error.cause.message);
}
