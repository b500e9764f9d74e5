import { performance } from "node:perf_hooks";
import type {
  BatchCheckItem,
  BatchCheckRequest,
  ClientRequestOptsWithConsistency,
  CheckRequest as FgaCheckRequest,
  OpenFgaClient,
} from "@openfga/sdk";
import type { Authorizer, CheckRequest, Decision } from "../authz/authorizer.js";
import { AuditConfigError, AuditInputError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { answerLimit } from "./answer-size.js";
import { type AskOpenFga, createCachedChecks } from "./cached-checks.js";
import { answer, batchItemDecision, checkAnswer, failure, malformedBatch } from "./check-answer.js";
import { createDecisionCache, type DecisionCache, keyOf } from "./decision-cache.js";
import { isPlainCheck, tupleOf, unsupported } from "./plain-check.js";
import { settle } from "./settle.js";

/** Options of the decision cache of `createOpenFgaAuthorizer`. */
export interface OpenFgaCacheOptions {
  /** How long an answer is reused, in ms. Default: 1000. */
  ttlMs?: number;
  /** Most answers kept; the least recently used is dropped first. Default: 1000. */
  maxEntries?: number;
  /**
   * What a tuple write forgets. Default "all": the whole cache, because without the authorization model
   * no narrower rule is sound (adding `user:alice` to `team:core` changes her access to every object
   * that grants `team:core#member`). "object": only answers about the written tuples' objects (and
   * everything when a written tuple's user is a userset or a non-`user:` object, or its user or object
   * is malformed, such as the writer's "(invalid)") — correct only for models without usersets or
   * parent relations that reach across objects.
   */
  invalidation?: "all" | "object";
  /**
   * How long, in ms, answers that a write with an unknown outcome may change are not cached. Default:
   * `ttlMs`. The audited tuple writer reports such a write (abandoned on its `signal`, or failed without
   * an answer) at once, but OpenFGA may still apply it later, and an answer asked in between is the old
   * one. So the answers it may change (every answer with `invalidation: "all"`) are dropped and, for this
   * long, asked of OpenFGA on every check. A write applied within that time is never followed by an older
   * cached answer; one applied later still is, for at most `ttlMs`, as a write made outside the writer.
   */
  unknownOutcomeHoldMs?: number;
}

/** Options of `createOpenFgaAuthorizer`. */
export interface OpenFgaAuthorizerOptions {
  /**
   * The application's OpenFGA client. Its `storeId` (required) and `authorizationModelId` (optional: without
   * it OpenFGA uses the store's latest model) are read once, here, and sent with every check and batch
   * check, so the ids on audit events are always those that were asked. Set the model id on the client
   * before creating the authorizer: one set later (or changed) is not sent with checks, which go on naming
   * the model read here, or none (the SDK's own `check` would send the client's current one, which the
   * authz events, taking the authorizer's `modelId`, would not show).
   */
  client: OpenFgaClient;
  /**
   * Reuse allowed/denied answers for a short time. Default: off. Errors are never cached. Writes made
   * through the audited tuple writer invalidate entries they may affect (see `OpenFgaAuthorizer.invalidate`);
   * writes made elsewhere (another process, the OpenFGA CLI) are only bounded by `ttlMs`.
   */
  cache?: OpenFgaCacheOptions | false;
  /** Clock in ms for cache expiry. Default: `performance.now`. */
  now?: () => number;
}

/** An Authorizer backed by OpenFGA, with the ids it checks against and its cache invalidation. */
export interface OpenFgaAuthorizer extends Authorizer {
  /** The store every check is sent to. */
  readonly storeId: string;
  /** The authorization model every check names, when the client has one. */
  readonly modelId?: string;
  /**
   * Forgets cached answers the given tuple changes may affect: every answer with the default
   * `invalidation: "all"`; with "object", see `OpenFgaCacheOptions.invalidation`. Later checks that
   * were already in flight do not store their (possibly older) answers. With `unknownOutcome: true` (the
   * write may or may not have been applied, and may still be), the same answers are also not stored for
   * `unknownOutcomeHoldMs` (see `OpenFgaCacheOptions`). Default `unknownOutcome`: false.
   */
  invalidate(tuples: readonly CheckRequest[], options?: { unknownOutcome?: boolean }): void;
  /**
   * Holds the cache for a write request being sent: forgets the answers the given tuple changes may
   * affect (as `invalidate`) and stores none of them until the returned function is called, when the
   * request's answer came; that call forgets them once more (a check answered while the request was
   * in flight may predate the write) and ends the hold. Calling it again does nothing. The audited
   * tuple writer calls this for each request it sends: a non-transactional write sends many, and
   * OpenFGA applies each when it answers it, not when the whole call returns.
   */
  holdForWrite(tuples: readonly CheckRequest[]): () => void;
}

const CACHE_DEFAULTS = Object.freeze({ ttlMs: 1000, maxEntries: 1000 });

/**
 * Creates an Authorizer that asks OpenFGA through the application's `@openfga/sdk` client.
 *
 * `check` and `batchCheck` reject only a call of the wrong shape (options that are not an object,
 * `requests` that are not an array) with an AuditInputError, and `cached` never throws: every SDK
 * error becomes `{ kind: "error", reason, error }`, with `reason` "timeout" when `options.signal` aborted,
 * "rate_limited" for HTTP 429, "unavailable" for 5xx answers and network failures, "malformed_answer"
 * for an answer without a boolean `allowed`, else OpenFGA's error code or the SDK error's class name,
 * and "unsupported_request" for a request with contextual tuples or a condition context (which this
 * authorizer does not send, and never drops to check the bare tuple instead). An error is never a
 * denial. `error` is the SDK's own error object, from which only the body of a failed token request
 * (`requestData`, which holds the client secret) is removed; it still holds the checked tuple and
 * OpenFGA's answer, so log `reason`, not the object. When the signal aborts, the promise resolves at
 * once and the HTTP request is cancelled. The SDK's retries (`retryParams` of the client) run inside
 * the caller's time budget. A request whose user, relation or object is not a string is sent alone
 * (also in `batchCheck`, so that the other checks of the batch still get answers), never cached.
 *
 * `batchCheck` uses OpenFGA's batch-check endpoint (OpenFGA 1.8 or later), one request per 50 checks.
 *
 * ```ts
 * const fga = new OpenFgaClient({ apiUrl, storeId, authorizationModelId });
 * const authorizer = createOpenFgaAuthorizer({ client: fga, cache: { ttlMs: 500 } });
 * const decision = await authorizer.check({ user: "user:alice", relation: "editor", object: "project:p-1" });
 * ```
 */
export function createOpenFgaAuthorizer(options: OpenFgaAuthorizerOptions): OpenFgaAuthorizer {
  const { client, storeId, modelId, cache } = resolveOptions(options);
  const ids: ClientRequestOptsWithConsistency =
    modelId === undefined ? { storeId } : { storeId, authorizationModelId: modelId };
  // The model sent is the one read at creation, or none, never the client's current one: `client.check`
  // falls back to `client.authorizationModelId` when none is given, so a model pinned on the client later
  // went out with checks while the events, which take `modelId`, named none. Hence the API's own `check`,
  // with the body the SDK builds, as `batchCheck` goes through the API's `batchCheck`.
  const model: { authorization_model_id?: string } =
    modelId === undefined ? {} : { authorization_model_id: modelId };
  const checkBody = (request: CheckRequest): FgaCheckRequest => ({
    tuple_key: tupleOf(request),
    contextual_tuples: { tuple_keys: [] },
    ...model,
  });
  // `signal` and `maxContentLength` are not in the SDK's option types, but the SDK hands its options to
  // axios, which cancels the request when the signal aborts and drops an answer past the size. Waiting
  // never depends on the signal: `settle` stops waiting either way.
  const maxContentLength = answerLimit(client);
  const requestOptions = (signal: AbortSignal | undefined): RequestOptions =>
    signal === undefined ? { ...ids, maxContentLength } : { ...ids, signal, maxContentLength };

  // Always called inside `settle`: a request whose fields cannot be read is an error, not a rejection.
  const ask: AskOpenFga = (request, signal) =>
    client.api.check(storeId, checkBody(request), requestOptions(signal));
  const cachedChecks = cache === undefined ? undefined : createCachedChecks(cache, ask);
  /** The cached answer to a plain request; none with the cache off or a field that is not a string. */
  const lookUp = (request: CheckRequest): boolean | undefined => {
    const key = cache === undefined ? undefined : keyOf(request);
    return key === undefined ? undefined : cache?.get(key);
  };

  /**
   * OpenFGA's batch-check answers by correlation id, one request per BATCH_SIZE checks, as the SDK's
   * `batchCheck` sends them; undefined when an answer has no `result` object. The endpoint is called
   * through `client.api` because the SDK's `batchCheck` turns an item without `allowed` into `false`,
   * which would read as a denial.
   */
  async function batchResults(
    checks: readonly BatchCheckItem[],
    options: RequestOptions,
  ): Promise<Map<string, unknown> | undefined> {
    const body = (chunk: BatchCheckItem[]): BatchCheckRequest => ({ checks: chunk, ...model });
    const results = new Map<string, unknown>();
    for (let group = 0; group < checks.length; group += BATCH_SIZE * MAX_PARALLEL_BATCHES) {
      const chunks: BatchCheckItem[][] = [];
      const end = Math.min(checks.length, group + BATCH_SIZE * MAX_PARALLEL_BATCHES);
      for (let i = group; i < end; i += BATCH_SIZE)
        chunks.push(checks.slice(i, Math.min(end, i + BATCH_SIZE)));
      const answers = await Promise.all(
        chunks.map((chunk) => client.api.batchCheck(storeId, body(chunk), options)),
      );
      for (const answer of answers) {
        const result: unknown = (answer as { result?: unknown } | undefined)?.result;
        if (typeof result !== "object" || result === null) return undefined;
        for (const [id, item] of Object.entries(result)) results.set(id, item);
      }
    }
    return results;
  }

  /** Asks OpenFGA one question, never from nor into the cache. */
  async function askAlone(request: CheckRequest, signal: AbortSignal | undefined): Promise<Decision> {
    const outcome = await settle(() => ask(request, signal), signal);
    return outcome.ok ? checkAnswer(outcome.value) : failure(outcome);
  }

  const authorizer: OpenFgaAuthorizer = {
    storeId,
    ...(modelId === undefined ? {} : { modelId }),
    cached(request) {
      if (!isPlainCheck(request)) return undefined;
      const allowed = lookUp(request);
      return allowed === undefined ? undefined : answer(allowed, true);
    },
    async check(request, checkOptions = {}) {
      checkCall("check", checkOptions);
      const { signal } = checkOptions;
      if (!isPlainCheck(request)) return unsupported();
      // A request whose fields are not strings has no key: it is asked alone and never cached.
      const key = cachedChecks === undefined ? undefined : keyOf(request);
      if (cachedChecks !== undefined && key !== undefined) return cachedChecks.check(request, key, signal);
      return askAlone(request, signal);
    },
    async batchCheck(requests, checkOptions = {}) {
      checkCall("batchCheck", checkOptions);
      if (!Array.isArray(requests))
        throw new AuditInputError(
          `OpenFGA authorizer: batchCheck's \`requests\` must be an array of check requests, got ${typeOf(requests)}`,
        );
      const plain = requests.map(isPlainCheck);
      const hits = requests.map((request, i) => (plain[i] ? lookUp(request) : undefined));
      const misses = [...requests.keys()].filter((i) => plain[i] && hits[i] === undefined);
      const known = (i: number): Decision => {
        const hit = hits[i];
        return hit === undefined ? unsupported() : answer(hit, true);
      };
      if (misses.length === 0) return requests.map((_, i) => known(i));
      const generation = cache?.generation ?? 0;
      const { signal } = checkOptions;
      // A request whose fields are not strings (a BigInt, a getter that throws) is asked alone, as
      // `check` asks it: JSON may not encode it, and it must not fail the batch's other checks. One
      // at a time, beside the batch: many of them must not become a burst of requests.
      const lone = new Set(misses.filter((i) => keyOf(requests[i]) === undefined));
      const asked = (async () => {
        const decisions = new Map<number, Decision>();
        for (const i of lone) decisions.set(i, await askAlone(requests[i], signal));
        return decisions;
      })();
      const batched = misses.filter((i) => !lone.has(i));
      // Correlation ids are the request positions: results come keyed by them, in no order. Built
      // inside `settle`, so that a field that cannot be read after all is an error, not a rejection.
      const checks = () => batched.map((i) => ({ tuple_key: tupleOf(requests[i]), correlation_id: `${i}` }));
      const outcome = await settle(
        async () => (batched.length === 0 ? new Map() : batchResults(checks(), requestOptions(signal))),
        signal,
      );
      const results = outcome.ok ? outcome.value : undefined;
      // The decision of every batched request when the batch failed or its answer was malformed.
      const failed = outcome.ok ? malformedBatch() : failure(outcome);
      const singles = await asked;
      return requests.map((request, i) => {
        if (!plain[i] || hits[i] !== undefined) return known(i);
        const single = singles.get(i);
        if (single !== undefined) return single;
        if (results === undefined) return failed;
        const decision = batchItemDecision(results.get(`${i}`));
        if (decision.kind !== "error") cache?.set(request, decision.kind === "allowed", generation);
        return decision;
      });
    },
    invalidate(tuples, invalidateOptions) {
      cache?.invalidate(tuples, invalidateOptions?.unknownOutcome === true);
    },
    holdForWrite: (tuples) => cache?.holdForWrite(tuples) ?? NO_HOLD,
  };
  return authorizer;
}

type RequestOptions = ClientRequestOptsWithConsistency & { signal?: AbortSignal; maxContentLength: number };

/** The end of a hold that holds nothing: the cache is off. */
const NO_HOLD = (): void => {};

/**
 * Rejects a call whose options are not an object: a caller's bug, where a request of the wrong shape
 * is an "unsupported_request" decision.
 */
function checkCall(call: string, options: unknown): void {
  if (typeof options !== "object" || options === null)
    throw new AuditInputError(
      `OpenFGA authorizer: ${call}'s options must be an object, got ${typeOf(options)}`,
    );
}

/** A bad argument's type, never its value. */
function typeOf(value: unknown): string {
  return value === null ? "null" : typeof value;
}

/** Checks per batch-check request: 50, the SDK's and OpenFGA's default. */
const BATCH_SIZE = 50;

/** Batch-check requests sent at once for a larger batch: 10, as the SDK's `maxParallelRequests`. */
const MAX_PARALLEL_BATCHES = 10;

/** The option names of `OpenFgaAuthorizerOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({ client: 1, cache: 1, now: 1 } satisfies Record<
  keyof OpenFgaAuthorizerOptions,
  1
>);

/** The option names of `OpenFgaCacheOptions`. */
const CACHE_OPTION_NAMES = Object.keys({
  ttlMs: 1,
  maxEntries: 1,
  invalidation: 1,
  unknownOutcomeHoldMs: 1,
} satisfies Record<keyof OpenFgaCacheOptions, 1>);

function resolveOptions(options: OpenFgaAuthorizerOptions): {
  client: OpenFgaClient;
  storeId: string;
  modelId: string | undefined;
  cache: DecisionCache | undefined;
} {
  if (typeof options !== "object" || options === null)
    throw configError("options must be an object with `client`");
  rejectUnknownOptions("createOpenFgaAuthorizer", options, OPTION_NAMES);
  const { client, cache, now } = options;
  if (typeof client?.check !== "function" || typeof client.api?.batchCheck !== "function") {
    throw configError("`client` must be an OpenFgaClient from @openfga/sdk");
  }
  const { storeId, authorizationModelId } = client;
  if (typeof storeId !== "string" || storeId === "") {
    throw configError("`client` has no storeId; set it before creating the authorizer");
  }
  if (now !== undefined && typeof now !== "function") throw configError("`now` must be a function");
  return {
    client,
    storeId,
    modelId: authorizationModelId === "" ? undefined : authorizationModelId,
    cache: cache === undefined || cache === false ? undefined : createCache(cache, now),
  };
}

function createCache(cache: OpenFgaCacheOptions, now: (() => number) | undefined): DecisionCache {
  if (typeof cache !== "object" || cache === null) throw configError("`cache` must be an object or false");
  rejectUnknownOptions("createOpenFgaAuthorizer: cache", cache, CACHE_OPTION_NAMES);
  const {
    ttlMs = CACHE_DEFAULTS.ttlMs,
    maxEntries = CACHE_DEFAULTS.maxEntries,
    invalidation = "all",
  } = cache;
  const { unknownOutcomeHoldMs = ttlMs } = cache;
  if (invalidation !== "all" && invalidation !== "object") {
    throw configError('`cache.invalidation` must be "all" or "object"');
  }
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw configError("`cache.ttlMs` must be a positive number of milliseconds");
  }
  if (!Number.isInteger(maxEntries) || maxEntries <= 0) {
    throw configError("`cache.maxEntries` must be a positive integer");
  }
  if (
    typeof unknownOutcomeHoldMs !== "number" ||
    !Number.isFinite(unknownOutcomeHoldMs) ||
    unknownOutcomeHoldMs < 0
  ) {
    throw configError("`cache.unknownOutcomeHoldMs` must be a number of milliseconds, 0 or more");
  }
  const clock = now ?? (() => performance.now());
  return createDecisionCache({ ttlMs, maxEntries, invalidation, unknownOutcomeHoldMs, now: clock });
}

function configError(problem: string): AuditConfigError {
  return new AuditConfigError(`createOpenFgaAuthorizer: ${problem}`);
}
