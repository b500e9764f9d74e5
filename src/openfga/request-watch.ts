/**
 * What the HTTP requests `@openfga/sdk` sends for one writer call did, seen from inside the SDK:
 * whether and how often each was sent, whether each attempt got an answer and which, and whether every
 * success answer was a JSON object. None of it reaches the writer otherwise. The SDK's error does not
 * say how often it sent the request (its retry count is only on a success), nor what the earlier
 * attempts got, nor whether it sent one at all (a failed token request), and OpenFGA refuses the retry
 * of a write it had applied, whose answer was lost, as it refuses a plain duplicate: only the count
 * tells them apart, unless every attempt was answered with a refusal (a 429: nothing was applied).
 * And the SDK's `write` drops OpenFGA's answer and reports success for any 2xx, also for a proxy's
 * HTML page that never came from OpenFGA.
 *
 * `transformRequest` and `transformResponse` go into the call's options, which the SDK hands to axios
 * for every attempt (as it does `signal`), in place of the client's: so each is a chain that runs the
 * client's own (its `baseOptions`', else its axios instance's defaults) with the watch's step. Axios
 * calls the request chain once per attempt with the request body, which the SDK has already
 * serialized to a JSON string: the watch counts it first, as the SDK made it. The response chain gets
 * each answer's body: the client's transforms parse it (axios's default parses JSON), then the watch
 * looks at what they made, and notes the body of the request (axios runs the chain with the request's
 * config as `this`) whose 2xx answer was not a JSON object. Attempts are counted per body, so that each
 * chunk of a non-transactional write, whose failure carries its own body (`requestData`), is judged by
 * its own attempts; two chunks of one body (a tuple given twice) count as one request sent twice, so
 * that a refusal of either reads as unknown, never as more certain than it is.
 * @internal
 */
export interface RequestWatch {
  /** The axios option: counts each attempt, then runs the client's own request transforms. */
  readonly transformRequest: readonly Transform[];
  /** The axios option: the client's own response transforms, then notes a success answer that is not a JSON object. */
  readonly transformResponse: readonly Transform[];
  /**
   * Whether the request that failed with `error` was sent more than once, with an earlier attempt that
   * may have been applied; `fallback` when no attempt of it was counted (a client that is not the SDK's,
   * or an error without the request's body). False when every attempt of it got an answer and each
   * answer was a 4xx refusal (the SDK retries only a 429 among them: OpenFGA applied none of them).
   */
  retried(error: unknown, fallback: boolean): boolean;
  /**
   * The bodies, as sent, of the requests of the call whose 2xx answer was not a JSON object, oldest
   * first; undefined for one whose body could not be read (a client that is not the SDK's). Empty when
   * every 2xx answer was one.
   */
  malformedAnswers(): readonly unknown[];
  /**
   * Whether any request of the call was handed to axios to send. None was when the SDK failed first
   * (its `client_credentials` token request failed, or the call's signal aborted while it waited for
   * the token: axios refuses to send once the signal aborted, before it runs the transforms).
   */
  sent(): boolean;
  /**
   * The requests of the call handed to axios to send, oldest first, one per body as sent (the attempts
   * of a request, and identical chunks, are one): how often each was sent and answered, and its last
   * answer. Empty when none was sent.
   */
  requests(): readonly WatchedRequest[];
}

/**
 * One request of a call, by its body as sent: its attempts, the answers they got, and the last answer.
 * Each chunk of a non-transactional write is a request of its own, with its own answers. @internal
 */
export interface WatchedRequest {
  /** The body as sent: the SDK's JSON string (axios's config `data`). */
  readonly body: unknown;
  /** How many attempts were handed to axios to send. */
  readonly sent: number;
  /** How many attempts got an answer; fewer than `sent` while one is in flight, or when one got none. */
  readonly answered: number;
  /** Whether every answer was a 4xx refusal (true before any came). */
  readonly refusedOnly: boolean;
  /** The last answer's status and body (as the client's transforms made it); undefined before one came. */
  readonly lastAnswer?: { readonly statusCode: number | undefined; readonly responseData: unknown };
}

/** Told about each attempt of a call: `sent` with its body as it goes out, `answered` when an answer to it came. */
export interface RequestHooks {
  sent(body: unknown): void;
  answered(body: unknown): void;
}

/**
 * An axios transform: the body (and, for an answer, its headers and status) in, the body out. Axios
 * calls it with the request's config as `this`.
 */
type Transform = (this: unknown, data: unknown, headers?: unknown, status?: number) => unknown;

/** The transforms the client's own requests run: those of its `baseOptions`, else its axios instance's. */
export interface ClientTransforms {
  readonly transformRequest?: unknown;
  readonly transformResponse?: unknown;
}

/** A watch over the requests of one call, run around the client's own `transforms`. @internal */
export function createRequestWatch(transforms: ClientTransforms, hooks?: RequestHooks): RequestWatch {
  const attempts = new Map<unknown, number>();
  // Per body as sent (axios's config `data`, which a failure carries as `requestData`): its attempts
  // sent and answered, whether every answer was a 4xx refusal, and the last answer. Each request (a
  // chunk) keeps its own: one chunk's refusal says nothing of another's.
  const answers = new Map<unknown, Mutable<WatchedRequest>>();
  const malformed: unknown[] = [];
  const count: Transform = (data) => {
    attempts.set(data, (attempts.get(data) ?? 0) + 1);
    return data;
  };
  // Last in the request chain: the body as it goes out, which axios's config (`this` of the response
  // transforms) then holds as `data`. Neither hook may fail the request.
  const sending: Transform = (data) => {
    const request = answers.get(data);
    if (request === undefined) answers.set(data, { body: data, sent: 1, answered: 0, refusedOnly: true });
    else request.sent++;
    try {
      hooks?.sent(data);
    } catch {}
    return data;
  };
  const inspect: Transform = function (this: unknown, data, _headers, status) {
    const success = typeof status === "number" && status >= 200 && status < 300;
    if (success && (typeof data !== "object" || data === null || Array.isArray(data)))
      malformed.push(requestBodyOf(this));
    const refused = typeof status === "number" && status >= 400 && status < 500;
    const request = answers.get(requestBodyOf(this));
    if (request !== undefined) {
      request.answered++;
      if (!refused) request.refusedOnly = false;
      request.lastAnswer = { statusCode: status, responseData: data };
    }
    try {
      hooks?.answered(requestBodyOf(this));
    } catch {}
    return data;
  };
  return {
    transformRequest: [count, ...asList(transforms.transformRequest), sending],
    transformResponse: [...asList(transforms.transformResponse, parseJson), inspect],
    retried(error, fallback) {
      try {
        const body = (error as { requestData?: unknown } | null)?.requestData;
        if (body === undefined) return fallback;
        // Every attempt answered, each with a refusal: none was applied, so the last answer's own
        // reason holds, as for a request sent once.
        const request = answers.get(body);
        if (request?.refusedOnly && request.answered === request.sent) return false;
        const count = attempts.get(body);
        return count === undefined ? fallback : count > 1;
      } catch {
        return fallback;
      }
    },
    malformedAnswers: () => malformed,
    sent: () => attempts.size > 0,
    requests: () => [...answers.values()].map((request) => ({ ...request })),
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The body a response transform's request was sent with: axios's config (`this`) holds it as `data`,
 * as the request transforms made it. Undefined when there is none to read. Never throws.
 */
function requestBodyOf(config: unknown): unknown {
  try {
    return typeof config === "object" && config !== null ? (config as { data?: unknown }).data : undefined;
  } catch {
    return undefined;
  }
}

/** An axios transform option as a list (one function or several); `otherwise` when it holds none. */
function asList(option: unknown, otherwise?: Transform): Transform[] {
  const list = (Array.isArray(option) ? option : [option]).filter(
    (item): item is Transform => typeof item === "function",
  );
  return list.length > 0 || otherwise === undefined ? list : [otherwise];
}

/** A body parsed as JSON, as axios's default does; one that is not JSON stays as it is. */
function parseJson(data: unknown): unknown {
  if (typeof data !== "string" || data === "") return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
