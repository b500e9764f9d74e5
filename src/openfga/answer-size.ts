/**
 * The most bytes of one OpenFGA answer the authorizer and the tuple writer read: axios (under
 * `@openfga/sdk`) buffers a whole answer before parsing it and has no limit of its own, so a proxy or a
 * broken server answering a check with hundreds of megabytes would take that much memory (and more, as
 * parsed JSON) per request. A check, a batch of 50 checks and a write each answer in a few kilobytes.
 * Past it axios drops the answer, the SDK treats that as a network failure (retried, then
 * "unavailable"), and a write's outcome is unknown, as for any unanswered request. @internal
 */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * The answer limit for the requests of `client`: MAX_ANSWER_BYTES, or the client's own
 * `maxContentLength` when that is stricter (its `baseOptions`', else its axios instance's defaults),
 * which the request's own option would otherwise override. Never throws. @internal
 */
export function answerLimit(client: unknown): number {
  try {
    const { configuration, api } = client as {
      configuration?: { baseOptions?: { maxContentLength?: unknown } };
      api?: { axios?: { defaults?: { maxContentLength?: unknown } } };
    };
    const own = configuration?.baseOptions?.maxContentLength ?? api?.axios?.defaults?.maxContentLength;
    return typeof own === "number" && own > 0 ? Math.min(own, MAX_ANSWER_BYTES) : MAX_ANSWER_BYTES;
  } catch {
    return MAX_ANSWER_BYTES;
  }
}
