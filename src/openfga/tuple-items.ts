import type { ClientWriteResponse, ClientWriteSingleResponse, TupleKeyWithoutCondition } from "@openfga/sdk";
import type { TupleChangeItem } from "../recorder/inputs.js";
import { openFgaErrorReason } from "./error-reason.js";
import type { WatchedRequest } from "./request-watch.js";

/** One tuple of a call, as the caller gave it. @internal */
export interface Change {
  operation: "write" | "delete";
  tuple: TupleKeyWithoutCondition;
}

/**
 * Recorded for a tuple whose change may or may not have happened: its answer was lost (see
 * `writeErrorReason`), the SDK threw for a whole non-transactional call, or gave no result for it.
 * @internal
 */
export const UNKNOWN_OUTCOME = "unknown_outcome";

/** Recorded for a tuple of an aborted call that was not sent: nothing can have been changed. @internal */
export const NOT_SENT = "aborted";

/** Recorded in place of a tuple field that is not a non-empty string (the Recorder refuses those). */
const INVALID_FIELD = "(invalid)";

/**
 * Per-tuple outcomes from the SDK's response, in the order of the call. The SDK lists non-transactional
 * results in completion order, each with the caller's own tuple object as `tuple_key`: a result is
 * matched to its tuple by that identity, so that two tuples that differ only in their condition get
 * their own outcomes. A result whose `tuple_key` is another object (a client that copies tuples) is
 * matched by operation, fields and condition. Linear in the number of tuples. `reasonOf` gives the
 * reason recorded for a tuple that failed with an error (such as `writeErrorReason`). Never throws.
 * @internal
 */
export function itemsFromResponse(
  changes: readonly Change[],
  response: ClientWriteResponse,
  reasonOf: (error: unknown) => string,
): TupleChangeItem[] {
  try {
    const results = [...resultsOf("write", response?.writes), ...resultsOf("delete", response?.deletes)];
    const matched = matchByIdentity(changes, results);
    if (matched.includes(undefined)) matchByContent(changes, results, matched);
    return changes.map((change, i) => {
      const result = matched[i]?.result;
      if (result === undefined) return item(change, false, UNKNOWN_OUTCOME);
      return (result.status as string) === "success"
        ? item(change, true)
        : item(change, false, reasonOf(result.err));
    });
  } catch {
    // A response that cannot be read says nothing about what was written.
    return changes.map((change) => item(change, false, UNKNOWN_OUTCOME));
  }
}

/**
 * `items` (one per change, in order), where each tuple recorded as written that was sent in one of
 * `bodies` (the requests whose 2xx answer was not OpenFGA's JSON: see `RequestWatch.malformedAnswers`)
 * is recorded with "unknown_outcome" instead: the SDK reports success for any 2xx, and such an answer
 * (a proxy's login page) says nothing of what OpenFGA did. Each chunk of a non-transactional write is
 * a request of its own, so the chunks OpenFGA answered keep their outcomes. A tuple is found in a body
 * by operation, fields and condition: one given twice is unknown when either copy was in such a
 * request. When a body cannot be read (not the SDK's JSON), every tuple recorded as written is
 * unknown. Never throws.
 * @internal
 */
export function unknownWhereUnanswered(
  changes: readonly Change[],
  items: readonly TupleChangeItem[],
  bodies: readonly unknown[],
): TupleChangeItem[] {
  if (bodies.length === 0) return [...items];
  const sent = sentKeysOf(bodies);
  return items.map((entry, i) => {
    if (!entry.success) return entry;
    const change = changes[i];
    const known =
      sent !== undefined && change !== undefined && !sent.has(contentKeyOf(change.operation, change.tuple));
    return known ? entry : { ...entry, success: false, errorReason: UNKNOWN_OUTCOME };
  });
}

/**
 * Per-tuple outcomes, in the order of the call, of a call given up when its signal aborted, each from
 * the request that sent its tuple (see `RequestWatch.requests`): OpenFGA applies each request (each
 * chunk of a non-transactional write) when it answers it, so one request's answer says nothing of
 * another's. A tuple whose request's last answer was OpenFGA's 2xx JSON is written; one whose every
 * attempt was answered, the last with a 4xx or 5xx, has that answer's reason as `writeErrorReason`
 * gives it (a 429 "rate_limited" when every attempt was refused, a duplicate
 * "write_failed_due_to_invalid_input"); one whose request may be in flight or got no answer (or a 2xx
 * that is not OpenFGA's JSON) is "unknown_outcome"; one in no request sent is "aborted" (the SDK sends
 * nothing once its signal aborted). A tuple found in several requests with different outcomes (given
 * twice) is unknown. When a body cannot be read, or sends a tuple the call does not have (a client
 * transform rewrote it), every tuple is unknown. Never throws.
 * @internal
 */
export function itemsOfAbortedCall(
  changes: readonly Change[],
  requests: readonly WatchedRequest[],
): TupleChangeItem[] {
  const unknown = () => changes.map((change) => item(change, false, UNKNOWN_OUTCOME));
  try {
    const outcomes = new Map<string, string | undefined>();
    for (const request of requests) {
      const keys = bodyKeysOf(request.body);
      if (keys === undefined) return unknown();
      const reason = failureOf(request);
      for (const key of keys) {
        const other = outcomes.has(key) ? outcomes.get(key) : reason;
        outcomes.set(key, other === reason ? reason : UNKNOWN_OUTCOME);
      }
    }
    const keys = changes.map((change) => contentKeyOf(change.operation, change.tuple));
    const given = new Set(keys);
    for (const key of outcomes.keys()) if (!given.has(key)) return unknown();
    return changes.map((change, i) => {
      const key = keys[i] ?? "";
      if (!outcomes.has(key)) return item(change, false, NOT_SENT);
      const reason = outcomes.get(key);
      return reason === undefined ? item(change, true) : item(change, false, reason);
    });
  } catch {
    return unknown();
  }
}

/**
 * Why a request of an aborted call failed, as its own answers say; undefined when it was applied (its
 * last answer was OpenFGA's 2xx JSON). Unknown while an attempt has no answer: it may be in flight, or
 * was applied with its answer lost.
 */
function failureOf(request: WatchedRequest): string | undefined {
  const answer = request.lastAnswer;
  if (answer === undefined || request.answered !== request.sent) return UNKNOWN_OUTCOME;
  const { statusCode, responseData } = answer;
  if (typeof statusCode !== "number") return UNKNOWN_OUTCOME;
  if (statusCode >= 200 && statusCode < 300) {
    const json = typeof responseData === "object" && responseData !== null && !Array.isArray(responseData);
    return json ? undefined : UNKNOWN_OUTCOME;
  }
  if (statusCode < 400 || statusCode > 599) return UNKNOWN_OUTCOME;
  // As `RequestWatch.retried`: sent more than once with an attempt that was not a refusal.
  return writeErrorReason(answer, request.sent > 1 && !request.refusedOnly);
}

/** The content keys of the tuples sent in `bodies` (the SDK's JSON write requests); undefined when one cannot be read. */
function sentKeysOf(bodies: readonly unknown[]): Set<string> | undefined {
  const keys = new Set<string>();
  for (const body of bodies) {
    const sent = bodyKeysOf(body);
    if (sent === undefined) return undefined;
    for (const key of sent) keys.add(key);
  }
  return keys;
}

/** The content keys of the tuples one body (the SDK's JSON write request) sends; undefined when it cannot be read. */
function bodyKeysOf(body: unknown): string[] | undefined {
  try {
    if (typeof body !== "string") return undefined;
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { writes, deletes } = parsed as { writes?: unknown; deletes?: unknown };
    const written = tupleKeysOf(writes);
    const deleted = tupleKeysOf(deletes);
    if (written === undefined && deleted === undefined) return undefined;
    return [
      ...(written ?? []).map((tuple) => contentKeyOf("write", tuple)),
      ...(deleted ?? []).map((tuple) => contentKeyOf("delete", tuple)),
    ];
  } catch {
    return undefined;
  }
}

/** The `tuple_keys` list of a write request's `writes` or `deletes`, when it has one. */
function tupleKeysOf(list: unknown): unknown[] | undefined {
  if (typeof list !== "object" || list === null) return undefined;
  const { tuple_keys: tuples } = list as { tuple_keys?: unknown };
  return Array.isArray(tuples) ? tuples : undefined;
}

/** One result of the SDK's response, taken by at most one tuple. */
interface Result {
  operation: Change["operation"];
  result: ClientWriteSingleResponse;
  taken: boolean;
}

function resultsOf(operation: Change["operation"], list: unknown): Result[] {
  if (!Array.isArray(list)) return [];
  return list.map((result: ClientWriteSingleResponse) => ({ operation, result, taken: false }));
}

/** The result of each change whose own tuple object the SDK returned, by position; undefined for others. */
function matchByIdentity(changes: readonly Change[], results: readonly Result[]): (Result | undefined)[] {
  const byTuple: Record<Change["operation"], Queues<unknown>> = { write: new Map(), delete: new Map() };
  for (const entry of results) enqueue(byTuple[entry.operation], entry.result.tuple_key, entry);
  return changes.map((change) => {
    const entry = dequeue(byTuple[change.operation], change.tuple);
    if (entry !== undefined) entry.taken = true;
    return entry;
  });
}

/** Fills in `matched` for the changes left, from the results left, by operation, fields and condition. */
function matchByContent(
  changes: readonly Change[],
  results: readonly Result[],
  matched: (Result | undefined)[],
): void {
  const byContent: Queues<string> = new Map();
  for (const entry of results) {
    if (!entry.taken) enqueue(byContent, contentKeyOf(entry.operation, entry.result.tuple_key), entry);
  }
  changes.forEach((change, i) => {
    if (matched[i] === undefined)
      matched[i] = dequeue(byContent, contentKeyOf(change.operation, change.tuple));
  });
}

/** Results by key, each list taken from the front in O(1) (`shift()` would make n equal keys cost n²). */
type Queues<K> = Map<K, { entries: Result[]; next: number }>;

function enqueue<K>(queues: Queues<K>, key: K, entry: Result): void {
  const list = queues.get(key);
  if (list === undefined) queues.set(key, { entries: [entry], next: 0 });
  else list.entries.push(entry);
}

function dequeue<K>(queues: Queues<K>, key: K): Result | undefined {
  const list = queues.get(key);
  if (list === undefined || list.next >= list.entries.length) return undefined;
  return list.entries[list.next++];
}

/** The operation, fields and condition of a tuple as JSON; one shared key for a tuple JSON cannot encode. */
function contentKeyOf(operation: Change["operation"], tuple: unknown): string {
  try {
    const { user, relation, object } = fieldsOf(tuple);
    const { condition } = (typeof tuple === "object" && tuple !== null ? tuple : {}) as {
      condition?: unknown;
    };
    return JSON.stringify([operation, user, relation, object, condition ?? null]);
  } catch {
    return `${operation} ${INVALID_FIELD}`;
  }
}

/**
 * The reason a write failed, as `openFgaErrorReason`, but unknown when the answer that would say was
 * lost: the SDK wraps transport failures (a timeout, a reset, a refused connection) in a plain
 * FgaError without a status, and a gateway answers 502 or 504 when it lost OpenFGA's answer. Either
 * way OpenFGA may have applied the write. When `retried` (the SDK sent the request more than once, and
 * an earlier attempt got no answer or one that was not a refusal: see `RequestWatch.retried`), a
 * final 429 or 5xx is unknown too, and so is OpenFGA's refusal of a tuple that already exists or is
 * already gone ("write_failed_due_to_invalid_input"): either may answer the retry of an attempt that
 * was applied and whose answer was lost.
 * @internal
 */
export function writeErrorReason(error: unknown, retried: boolean): string {
  if (typeof error === "object" && error !== null) {
    const { statusCode, name } = error as { statusCode?: unknown; name?: unknown };
    if (statusCode === undefined && name === "FgaError") return UNKNOWN_OUTCOME;
    if (statusCode === 502 || statusCode === 504) return UNKNOWN_OUTCOME;
    // As the SDK retries: 429 and 5xx but 501, which it never retries (nothing was applied then).
    if (
      retried &&
      (statusCode === 429 || (typeof statusCode === "number" && statusCode >= 500 && statusCode !== 501))
    )
      return UNKNOWN_OUTCOME;
  }
  const reason = openFgaErrorReason(error);
  return retried && reason === ALREADY_APPLIED ? UNKNOWN_OUTCOME : reason;
}

/** OpenFGA's refusal to write a tuple that exists or to delete one that does not. */
const ALREADY_APPLIED = "write_failed_due_to_invalid_input";

/** The recorded form of a tuple: malformed fields read "(invalid)". Never throws. @internal */
export function item(change: Change, success: boolean, errorReason?: string): TupleChangeItem {
  const { user, relation, object } = fieldsOf(change.tuple);
  const condition = conditionOf(change.tuple);
  return {
    operation: change.operation,
    user: recordable(user),
    relation: recordable(relation),
    object: recordable(object),
    success,
    ...(errorReason === undefined ? {} : { errorReason }),
    ...(condition === undefined ? {} : { condition }),
  };
}

/**
 * The tuple's condition as recorded: its name and the keys of its context, never their values (an
 * address range, a customer id, a grant's expiry: OpenFGA keeps them with the tuple, where those who
 * may see them can read them). None for a tuple without a condition; "(invalid)" and no keys for one
 * that cannot be read (a getter or proxy that throws).
 */
function conditionOf(tuple: unknown): TupleChangeItem["condition"] {
  try {
    if (typeof tuple !== "object" || tuple === null) return undefined;
    const { condition } = tuple as { condition?: unknown };
    if (condition === undefined || condition === null) return undefined;
    const { name, context } = (typeof condition === "object" ? condition : {}) as Record<string, unknown>;
    const keys =
      typeof context === "object" && context !== null && !Array.isArray(context) ? Object.keys(context) : [];
    return { name: recordable(name), contextKeys: keys };
  } catch {
    return { name: INVALID_FIELD, contextKeys: [] };
  }
}

/**
 * The tuple's fields as given; none for a tuple that is not an object (null, a string, ...) or whose
 * fields cannot be read. Never throws.
 */
function fieldsOf(tuple: unknown): { user?: unknown; relation?: unknown; object?: unknown } {
  try {
    if (typeof tuple !== "object" || tuple === null) return {};
    const { user, relation, object } = tuple as Record<string, unknown>;
    return { user, relation, object };
  } catch {
    return {};
  }
}

function recordable(value: unknown): string {
  return typeof value === "string" && value !== "" ? value : INVALID_FIELD;
}
