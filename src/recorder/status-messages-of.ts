import type { StatusMessagePolicy } from "../event/record-context.js";

/**
 * The `statusMessages` policy of each Recorder `createRecorder` made, for the rules interceptor: the
 * message it writes of a call whose client did not get the handler's answer is partly its own words,
 * which every policy keeps, and partly the handler's, which the policy applies to. Module-private, so
 * not part of the Recorder's API.
 */
const policies = new WeakMap<object, StatusMessagePolicy>();

/** Makes `statusMessagesOf(recorder)` give `policy`. @internal */
export function trackStatusMessages(recorder: object, policy: StatusMessagePolicy): void {
  policies.set(recorder, policy);
}

/** The `statusMessages` policy of `recorder`, or undefined when `createRecorder` did not make it. @internal */
export function statusMessagesOf(recorder: unknown): StatusMessagePolicy | undefined {
  return typeof recorder === "object" && recorder !== null ? policies.get(recorder) : undefined;
}
