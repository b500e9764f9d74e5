/**
 * The record inputs of calls whose client did not get the handler's answer (a cancel, a passed
 * deadline, a status grpc-js sent itself), as the rules interceptor marks them. A record policy never
 * skips such an event, even when the handler finished OK: the read may have happened without the
 * client knowing, and "failures" records every read that did not end OK for the client. A mark, not
 * an input field: the Recorder's public input stays as it is, and marking costs only the calls that end
 * so.
 * @internal
 */
const unanswered = new WeakSet<object>();

/** Marks `input` as the record of a call whose client did not get the handler's answer. @internal */
export function markUnanswered(input: object): void {
  unanswered.add(input);
}

/** True when `input`, as given to a record method, was marked by `markUnanswered`. @internal */
export function isUnanswered(input: unknown): boolean {
  return typeof input === "object" && input !== null && unanswered.has(input);
}
