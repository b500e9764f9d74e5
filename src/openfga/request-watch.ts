/**
 * What the HTTP requests `@openfga/sdk` sends for one writer call did, seen from inside the SDK:
 * how often each was sent, and whether every success answer was a JSON object. Neither reaches the
 * writer otherwise. The SDK's error does not say how often it sent the request (its retry count is
 * only on a success), and OpenFGA refuses the retry of a write it had applied, whose answer was lost,
 * as it refuses a plain duplicate: only the count tells them apart. And the SDK's `write` drops
 * OpenFGA's answer and reports success for any 2xx, also for a proxy's HTML page that never came
 * from OpenFGA.
 *
 * `transformRequest` and `transformResponse` go into the call's options, which the SDK hands to axios
 * for every attempt (as it does `signal`), in place of axios's defaults. Axios calls the first once
 * per attempt with the request body, which the SDK has already serialized to a JSON string and which
 * it returns unchanged; the second with each answer's body, which it parses as JSON as axios's
 * default does (a body that is not JSON stays a string). Attempts are counted per body, so that each
 * chunk of a non-transactional write, whose failure carries its own body (`requestData`), is judged by
 * its own attempts; two chunks of one body (a tuple given twice) count as one request sent twice, so
 * that a refusal of either reads as unknown, never as more certain than it is.
 * @internal
 */
export interface RequestWatch {
  /** The axios option that counts attempts. */
  readonly transformRequest: (data: unknown) => unknown;
  /** The axios option that parses answers and notes a success answer that is not a JSON object. */
  readonly transformResponse: (data: unknown, headers: unknown, status?: number) => unknown;
  /**
   * Whether the request that failed with `error` was sent more than once; `fallback` when no attempt
   * of it was counted (a client that is not the SDK's, or an error without the request's body).
   */
  retried(error: unknown, fallback: boolean): boolean;
  /** Whether a 2xx answer of the call was not a JSON object. */
  malformedAnswer(): boolean;
}

/** A watch over the requests of one call. @internal */
export function createRequestWatch(): RequestWatch {
  const attempts = new Map<unknown, number>();
  let malformed = false;
  return {
    transformRequest(data) {
      attempts.set(data, (attempts.get(data) ?? 0) + 1);
      return data;
    },
    transformResponse(data, _headers, status) {
      let parsed = data;
      if (typeof data === "string" && data !== "") {
        try {
          parsed = JSON.parse(data);
        } catch {}
      }
      const success = typeof status === "number" && status >= 200 && status < 300;
      if (success && (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)))
        malformed = true;
      return parsed;
    },
    retried(error, fallback) {
      try {
        const body = (error as { requestData?: unknown } | null)?.requestData;
        const count = body === undefined ? undefined : attempts.get(body);
        return count === undefined ? fallback : count > 1;
      } catch {
        return fallback;
      }
    },
    malformedAnswer: () => malformed,
  };
}
