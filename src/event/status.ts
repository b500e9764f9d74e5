// The one mapping of gRPC status codes to names (https://grpc.github.io/grpc/core/md_doc_statuscodes.html):
// events, the Recorder and the CLI name statuses through it. Kept here so the event layer does not
// load @grpc/grpc-js; test/event/status.test.ts checks it against grpc-js's own enum.
const STATUS_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/**
 * Name of a gRPC status code, such as "PERMISSION_DENIED".
 * @internal
 */
export type StatusName = (typeof STATUS_NAMES)[number];

/**
 * Name of a gRPC status code given as its number (7) or its name ("PERMISSION_DENIED"). Unknown
 * numbers and names give "UNKNOWN", as gRPC itself treats them.
 * @internal
 */
export function statusName(code: number | string): StatusName {
  if (typeof code === "number") return STATUS_NAMES[code] ?? "UNKNOWN";
  return (STATUS_NAMES as readonly string[]).includes(code) ? (code as StatusName) : "UNKNOWN";
}
