import type {
  ClientDeleteTuplesRequestOpts,
  ClientRequestOptsWithAuthZModelId,
  ClientWriteRequest,
  ClientWriteRequestOpts,
  ClientWriteResponse,
  ClientWriteTuplesRequestOpts,
  OpenFgaClient,
  TupleKey,
  TupleKeyWithoutCondition,
} from "@openfga/sdk";
import type { TupleChangeInput, TupleChangeItem } from "../recorder/inputs.js";
import { answerLimit } from "./answer-size.js";
import { openFgaErrorReason } from "./error-reason.js";
import { type ClientTransforms, createRequestWatch } from "./request-watch.js";
import { settle } from "./settle.js";
import {
  type Change,
  item,
  itemsFromResponse,
  itemsOfAbortedCall,
  NOT_SENT,
  UNKNOWN_OUTCOME,
  unknownWhereUnanswered,
  writeErrorReason,
} from "./tuple-items.js";
import { type AuditedTupleWriterOptions, resolveOptions } from "./tuple-writer-options.js";
import { withoutCredentials } from "./without-credentials.js";
import { writeHolds } from "./write-holds.js";

/**
 * Writes and deletes relationship tuples through `@openfga/sdk` and records each call as one audit event.
 * The methods take the SDK's arguments and resolve or reject with what the SDK did: its response, or
 * its own error object, from which only the body of a failed token request (`requestData`, which holds
 * the client secret) is removed. One option is added: `signal`, an AbortSignal (default: none, the writer waits for the SDK, retries and `Retry-After`
 * sleeps included). It is handed on to the SDK, which cancels its HTTP request when it aborts; the method
 * then rejects at once with the signal's reason (see `createAuditedTupleWriter`).
 */
export interface AuditedTupleWriter {
  /** `OpenFgaClient.write`, recorded. */
  write(
    body: ClientWriteRequest,
    options?: ClientRequestOptsWithAuthZModelId & ClientWriteRequestOpts & { signal?: AbortSignal },
  ): Promise<ClientWriteResponse>;
  /** `OpenFgaClient.writeTuples`, recorded. */
  writeTuples(
    tuples: TupleKey[],
    options?: ClientRequestOptsWithAuthZModelId & ClientWriteTuplesRequestOpts & { signal?: AbortSignal },
  ): Promise<ClientWriteResponse>;
  /** `OpenFgaClient.deleteTuples`, recorded. */
  deleteTuples(
    tuples: TupleKeyWithoutCondition[],
    options?: ClientRequestOptsWithAuthZModelId & ClientDeleteTuplesRequestOpts & { signal?: AbortSignal },
  ): Promise<ClientWriteResponse>;
}

/**
 * Creates a tuple writer that records what it changed. Each HTTP request the SDK sends for the call
 * (a non-transactional write sends one per chunk, and OpenFGA applies each when it answers it) holds the
 * authorizer's cache for its tuples (`holdForWrite`) from when it is sent until its answer comes. After
 * the SDK call returns or throws, it
 * 1. drops the authorizer's cached decisions about the tuples, also on failure (part of a write may have
 *    happened), and when a tuple's outcome is unknown, tells it so: OpenFGA may still apply the write,
 *    so the OpenFGA authorizer does not cache those decisions for a while (`unknownOutcomeHoldMs`), then
 * 2. records every tuple (user, relation, object, and for a conditional tuple its condition's name and
 *    context keys, never the context's values) with the store and model ids the
 *    call used, in one `recordTupleChange` per 50 tuples (one event with thousands of tuples would be
 *    too large for any sink). On success each tuple carries the SDK's per-tuple status: with
 *    `transaction: { disable: true }` the SDK writes in chunks and reports which ones failed, and such a
 *    tuple is recorded with the error's code. When the SDK throws, every tuple is recorded as failed with
 *    that error's code; in non-transactional mode (where the SDK throws only for authentication errors,
 *    after other chunks may have been written) with "unknown_outcome" instead, and the chunks still in
 *    flight are cancelled. OpenFGA refuses a request of more than 100 tuples (`maxTuplesPerWrite`): a
 *    larger transactional call is refused whole, each tuple recorded with "exceeded_entity_limit";
 *    `transaction: { disable: true, maxPerChunk: 100 }` sends it in requests of up to 100.
 *
 * A tuple whose request got no answer (a timeout, a dropped connection) or a gateway's 502 or 504 is
 * recorded as failed with "unknown_outcome": OpenFGA may have applied it. The SDK retries such requests
 * (`retryParams`), and the writer counts the requests it sends and the answers they get. When a request
 * was sent more than once, its final 429 or 5xx (not 501, which the SDK never retries) and OpenFGA's
 * refusal of a tuple that already exists or is already gone ("write_failed_due_to_invalid_input") are
 * recorded with "unknown_outcome" too: they may answer the retry of an attempt that was applied but
 * whose answer was lost. A request sent once is recorded with its own reason ("rate_limited",
 * "unavailable", or that refusal), and so is one sent more than once whose every attempt was answered
 * with a 4xx refusal (the SDK retries only a 429 among them: OpenFGA applied none): every attempt
 * answered 429 is "rate_limited", and the authorizer's cache is not held. When any attempt got no
 * answer or a 5xx, a final 429 stays "unknown_outcome". Each chunk of a non-transactional write is
 * judged by its own attempts. `conflict: { onDuplicateWrites: "ignore", onMissingDeletes: "ignore" }`
 * makes a retry after a lost answer succeed, and the tuple is recorded as written. The SDK reports
 * success for any 2xx answer; when one is not a JSON object (a proxy's HTML page: OpenFGA never saw
 * the write), the tuples of that request it reported as written are recorded with "unknown_outcome"
 * (in non-transactional mode only the chunk so answered: the other chunks keep their own answers),
 * and the method still resolves as the SDK did. A call for which the SDK sent no request (its `client_credentials` token request failed)
 * changed nothing: its tuples are recorded with the error's own reason ("unavailable" for an
 * unreachable issuer or a 5xx), never "unknown_outcome" (requests are counted for the SDK's own client
 * only).
 *
 * When `options.signal` aborts before the SDK settles, the method rejects with the signal's reason
 * without waiting for the SDK, which sleeps out a 429's `Retry-After` (up to 30 min) even for a
 * cancelled request, keeping the process alive meanwhile. Each tuple is then recorded by the answers
 * its own request got (each chunk of a non-transactional write is one; the SDK sends none once the
 * signal aborted): as written when OpenFGA answered it with a 200; with the reason of its last answer,
 * as above, when every attempt was answered ("rate_limited" for a 429 whose `Retry-After` the SDK was
 * sleeping out: nothing was applied; "write_failed_due_to_invalid_input" for a duplicate); with
 * "unknown_outcome" when its request may be in flight or got no answer (it may have been applied);
 * and with "aborted" when it was never sent (a later chunk, or every tuple while the SDK fetched its
 * token). A call whose signal had already aborted is not sent, and its tuples are recorded as failed
 * with "aborted".
 *
 * Error codes are credential-free ("unavailable", "rate_limited", "write_failed_due_to_invalid_input",
 * ...); SDK messages and payloads never reach events. A call with no tuples is passed on but not recorded.
 * A malformed tuple (not an object, or a user, relation or object that is not a non-empty string, or
 * one JSON cannot encode) is passed on to the SDK as it is and recorded with "(invalid)" for each such
 * field, so that the event, and the other tuples of the call, are still recorded, and the authorizer's
 * cached answers are dropped. Should the SDK's response not be readable, every tuple is recorded with
 * "unknown_outcome".
 *
 * ```ts
 * const tuples = createAuditedTupleWriter({ client: fga, recorder, authorizer });
 * await tuples.writeTuples([{ user: "user:bob", relation: "viewer", object: "project:p-1" }]);
 * ```
 */
export function createAuditedTupleWriter(options: AuditedTupleWriterOptions): AuditedTupleWriter {
  const { client, recorder, authorizer } = resolveOptions(options);

  async function audited(
    changes: readonly Change[],
    ids: CallOptions | undefined,
    call: (options: CallOptions) => Promise<ClientWriteResponse>,
  ): Promise<ClientWriteResponse> {
    const signal = signalOf(ids);
    if (signal?.aborted) {
      // Not sent: nothing can have been changed.
      report(changes, () => changes.map((change) => item(change, false, NOT_SENT)), ids);
      throw signal.reason;
    }
    // The SDK gets a signal of its own, aborted with the caller's and when the call is given up: from
    // the moment the outcome is reported, no request of the call is in flight or sent any more (the
    // SDK keeps the other chunks of a non-transactional write going after it threw), which the
    // authorizer's hold after an unknown outcome relies on.
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const holds = writeHolds(authorizer, changes);
    const watch = createRequestWatch(clientTransforms(client), holds);
    // Whether the request that failed was sent more than once with an attempt that may have been
    // applied (not when each attempt was answered with a refusal); as configured when not counted.
    const retried = (error: unknown) => watch.retried(error, mayRetry(client, ids));
    // None of the call's requests reached OpenFGA when the SDK sent none: its token request failed,
    // or the signal aborted while it waited for the token. Then nothing was changed, and a failure
    // has the error's own reason.
    const noneSent = () => !watch.sent() && watchesRequests(client);
    const reasonOf = (error: unknown) =>
      noneSent() ? openFgaErrorReason(error) : writeErrorReason(error, retried(error));
    const { transformRequest, transformResponse } = watch;
    const sdkOptions = {
      ...ids,
      signal: controller.signal,
      transformRequest,
      transformResponse,
      maxContentLength: answerLimit(client),
    };
    const outcome = await settle(() => call(sdkOptions), signal);
    signal?.removeEventListener("abort", onAbort);
    if (!outcome.ok) {
      controller.abort(outcome.error);
      const { error, aborted } = outcome;
      report(
        changes,
        () => {
          const failed = (reason: string) => changes.map((change) => item(change, false, reason));
          // None sent, and none will be (the SDK's signal has aborted): the error's own reason.
          if (noneSent()) return failed(aborted ? NOT_SENT : reasonOf(error));
          // Aborted (none will be sent any more): each tuple by its own request's answers. A chunk
          // answered 200 was applied; one refused (a 429 whose Retry-After the SDK was sleeping out, a
          // duplicate) was not, whatever another chunk got; one in flight may have been.
          if (aborted && watchesRequests(client)) return itemsOfAbortedCall(changes, watch.requests());
          // In non-transactional mode the SDK throws (for an authentication error) after other chunks
          // may have been written: no tuple of the call is known to have failed. After an abort through
          // a client whose requests are not seen, the request in flight may have been applied.
          return failed(!aborted && isTransactional(ids) ? reasonOf(error) : UNKNOWN_OUTCOME);
        },
        ids,
      );
      holds.end();
      throw withoutCredentials(error);
    }
    const response = outcome.value;
    report(
      changes,
      () => {
        const items = itemsFromResponse(changes, response, reasonOf);
        // The SDK reports success for any 2xx; one that is not OpenFGA's JSON (a proxy's login page)
        // says nothing of what OpenFGA did with the tuples of that request (a chunk of a
        // non-transactional write), and the other requests' answers still do.
        return unknownWhereUnanswered(changes, items, watch.malformedAnswers());
      },
      ids,
    );
    holds.end();
    return response;
  }

  function report(
    changes: readonly Change[],
    itemsOf: () => TupleChangeItem[],
    ids: CallOptions | undefined,
  ): void {
    // Reading the caller's tuples and the SDK's response must never replace what the SDK returned or
    // threw, nor lose the record: when that fails, every tuple is recorded with an unknown outcome,
    // which also keeps the authorizer from serving answers the call may have changed.
    let items: TupleChangeItem[];
    try {
      items = itemsOf();
    } catch {
      items = changes.map((change) => item(change, false, UNKNOWN_OUTCOME));
    }
    if (items.length === 0) return;
    // Mirrors the SDK, which takes the call's ids first (`||`), then the client's.
    const storeId = ids?.storeId || client.storeId;
    const modelId = ids?.authorizationModelId || client.authorizationModelId;
    // Neither may change what the caller gets from the SDK. The Recorder never throws by contract; an
    // authorizer's invalidate has no such contract, so both are guarded.
    try {
      const tuples = items.map(({ user, relation, object }) => ({ user, relation, object }));
      // OpenFGA may still apply a write whose outcome is unknown: the authorizer keeps from caching
      // answers it may change for a while (see `OpenFgaCacheOptions.unknownOutcomeHoldMs`).
      const unknownOutcome = items.some((entry) => entry.errorReason === UNKNOWN_OUTCOME);
      if (unknownOutcome) authorizer?.invalidate?.(tuples, { unknownOutcome });
      else authorizer?.invalidate?.(tuples);
    } catch {}
    // One event per MAX_TUPLES_PER_EVENT tuples: a non-transactional write may hold thousands, and one
    // event with all of them would be refused by every sink as too large, losing the whole record.
    for (let start = 0; start < items.length; start += MAX_TUPLES_PER_EVENT) {
      const slice = items.slice(start, start + MAX_TUPLES_PER_EVENT);
      const code = failureCodeOf(slice);
      const input: TupleChangeInput = {
        tuples: slice,
        ...(storeId ? { storeId } : {}),
        ...(modelId ? { modelId } : {}),
        ...(code === undefined ? {} : { result: { success: false, code } }),
      };
      try {
        recorder.recordTupleChange(input);
      } catch {}
    }
  }

  return {
    write: (body, callOptions) =>
      audited(changesOf(body?.writes, body?.deletes), callOptions, (sdk) => client.write(body, sdk)),
    writeTuples: (tuples, callOptions) =>
      audited(changesOf(tuples, undefined), callOptions, (sdk) => client.writeTuples(tuples, sdk)),
    deleteTuples: (tuples, callOptions) =>
      audited(changesOf(undefined, tuples), callOptions, (sdk) => client.deleteTuples(tuples, sdk)),
  };
}

function changesOf(
  writes: readonly TupleKeyWithoutCondition[] | undefined,
  deletes: readonly TupleKeyWithoutCondition[] | undefined,
): Change[] {
  const list = (tuples: readonly TupleKeyWithoutCondition[] | undefined) =>
    Array.isArray(tuples) ? tuples : [];
  return [
    ...list(writes).map((tuple): Change => ({ operation: "write", tuple })),
    ...list(deletes).map((tuple): Change => ({ operation: "delete", tuple })),
  ];
}

/**
 * The status of a tuple change whose failed tuples all failed for one reason that names one, else
 * undefined (the Recorder's default: UNKNOWN, which is also the truth for "unknown_outcome").
 */
function failureCodeOf(items: readonly TupleChangeItem[]): string | undefined {
  let reason: string | undefined;
  for (const entry of items) {
    if (entry.success !== false) continue;
    if (reason !== undefined && entry.errorReason !== reason) return undefined;
    reason = entry.errorReason ?? "";
  }
  return reason === undefined ? undefined : REASON_STATUS.get(reason);
}

/** Failure reasons whose gRPC status is known: the engine's state, not the tuples, decided them. */
const REASON_STATUS: ReadonlyMap<string, string> = new Map([
  ["unavailable", "UNAVAILABLE"],
  ["rate_limited", "RESOURCE_EXHAUSTED"],
  ["aborted", "CANCELLED"],
  ["transaction_conflict", "ABORTED"],
]);

/**
 * Most tuples in one TUPLE_CHANGED event: 50. At their size limits (four fields of 256 bytes and a
 * truncation marker, a condition of a 64-byte name and four 32-byte keys) 50 tuples and the largest
 * envelope take 93.6 KB, below the smallest sink limit (a Kafka message of JSON: 99.5 KB).
 */
const MAX_TUPLES_PER_EVENT = 50;

type CallOptions = ClientRequestOptsWithAuthZModelId & ClientWriteRequestOpts & { signal?: AbortSignal };

/** The caller's signal, when its options carry an AbortSignal. Never throws. */
function signalOf(options: CallOptions | undefined): AbortSignal | undefined {
  try {
    const signal = options?.signal;
    return signal instanceof AbortSignal ? signal : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the SDK may send a request of this call more than once, for a failure whose attempts were
 * not counted (see `RequestWatch`): its `maxRetry` above 0, read as the SDK reads it (the call's
 * `retryParams` when given, else the client's; the SDK's default is 3). True when the client's
 * settings cannot be read (a client that is not the SDK's). Never throws.
 */
function mayRetry(client: OpenFgaClient, options: CallOptions | undefined): boolean {
  try {
    const configuration = (client as unknown as { configuration?: { retryParams?: { maxRetry?: unknown } } })
      .configuration;
    const params = options?.retryParams ? options.retryParams : configuration?.retryParams;
    if (params === undefined && configuration === undefined) return true;
    return Number(params?.maxRetry ?? 0) > 0;
  } catch {
    return true;
  }
}

/**
 * The transforms the client's requests run (see createRequestWatch): its `baseOptions`', else its
 * axios instance's defaults; none found (a client that is not the SDK's), axios's own apply.
 */
function clientTransforms(client: OpenFgaClient): ClientTransforms {
  try {
    const { configuration, api } = client as unknown as {
      configuration?: { baseOptions?: ClientTransforms };
      api?: { axios?: { defaults?: ClientTransforms } };
    };
    const base = configuration?.baseOptions;
    const defaults = api?.axios?.defaults;
    return {
      transformRequest: base?.transformRequest ?? defaults?.transformRequest,
      transformResponse: base?.transformResponse ?? defaults?.transformResponse,
    };
  } catch {
    return {};
  }
}

/**
 * Whether the watch sees the client's requests: the SDK's client (read as `clientTransforms` reads
 * it) runs the call's transforms for each. Another client's requests are not counted, so a failure
 * without a counted request may still have come after one was sent. Never throws.
 */
function watchesRequests(client: OpenFgaClient): boolean {
  try {
    return typeof (client as unknown as { api?: { axios?: unknown } }).api?.axios === "function";
  } catch {
    return false;
  }
}

/** False for `transaction: { disable: true }`, read as the SDK reads it (any truthy `disable`). */
function isTransactional(options: CallOptions | undefined): boolean {
  return !options?.transaction?.disable;
}
