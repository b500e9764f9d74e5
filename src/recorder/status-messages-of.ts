import type { StatusMessagePolicy } from "../event/record-context.js";

/**
 * The `statusMessages` policy of each Recorder `createRecorder` made, for the rules interceptor: the
 * message it writes of a call whose client did not get the handler's answer is partly its own words,
 * which every policy keeps, and partly the handler's, which the policy applies to. A hidden property
 * under a symbol of the process's registry, not part of the Recorder's API: the interceptors of
 * another copy of this library find it too (see pending-records.ts).
 */
const POLICY = Symbol.for("grpc-audit.status-messages");

/** Makes `statusMessagesOf(recorder)` give `policy`. @internal */
export function trackStatusMessages(recorder: object, policy: StatusMessagePolicy): void {
  Object.defineProperty(recorder, POLICY, { value: policy }); // not enumerable, not writable
}

/** The `statusMessages` policy of `recorder`, or undefined when `createRecorder` did not make it. @internal */
export function statusMessagesOf(recorder: unknown): StatusMessagePolicy | undefined {
  try {
    if (typeof recorder !== "object" || recorder === null) return undefined;
    const policy = (recorder as { [POLICY]?: unknown })[POLICY];
    return policy === "record" || policy === "omit" || policy === "truncate" ? policy : undefined;
  } catch {
    return undefined; // a Proxy that throws: not one createRecorder made
  }
}
