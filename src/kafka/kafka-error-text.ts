/**
 * What went wrong in an error of `@platformatic/kafka`, in one line: its outer message ("Producing
 * messages failed.") says nothing, the reasons are nested (MultipleErrors' `errors`, a `cause`). Kafka's
 * error codes are given by name (NOT_ENOUGH_REPLICAS, TOPIC_AUTHORIZATION_FAILED), each reason once,
 * in the order met. Only messages and code names are read: never the request, the response or the
 * connection options the client puts on its errors, which can hold credentials.
 * @internal
 */
export function kafkaErrorText(error: unknown): string {
  const reasons = [...new Set(reasonsOf(error, 0))];
  return reasons.length > 0 ? reasons.join("; ") : String(error);
}

/** How deep nested errors are followed: the client nests three or four levels. */
const MAX_DEPTH = 8;

function reasonsOf(error: unknown, depth: number): string[] {
  if (typeof error !== "object" || error === null) return error === undefined ? [] : [String(error)];
  const { apiId, errors, cause, message } = error as {
    apiId?: unknown;
    errors?: unknown;
    cause?: unknown;
    message?: unknown;
  };
  // A protocol error: Kafka's code name says it all (its message is the code's long description).
  if (typeof apiId === "string") return [apiId];
  const text = typeof message === "string" ? message.replace(/\.$/, "") : String(error);
  if (depth >= MAX_DEPTH) return [text];
  if (Array.isArray(errors) && errors.length > 0) return errors.flatMap((e) => reasonsOf(e, depth + 1));
  if (cause === undefined || cause === error) return [text];
  return [`${text} (${[...new Set(reasonsOf(cause, depth + 1))].join("; ")})`];
}

/**
 * Kafka's answers that the producer's idempotence state (producer id, epoch, sequence numbers) no
 * longer matches the partition's: no retry by the same producer can succeed.
 */
const PRODUCER_STATE_ERRORS: ReadonlySet<string> = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "DUPLICATE_SEQUENCE_NUMBER",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
]);

/**
 * Whether Kafka refused a send because the producer's sequence numbers or id are out of step with it
 * (in any of the errors `@platformatic/kafka` nests): only a new producer id can send again.
 * @internal
 */
export function refusedProducerState(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > MAX_DEPTH) return false;
  const { apiId, errors, cause } = error as { apiId?: unknown; errors?: unknown; cause?: unknown };
  if (typeof apiId === "string" && PRODUCER_STATE_ERRORS.has(apiId)) return true;
  if (Array.isArray(errors) && errors.some((e) => refusedProducerState(e, depth + 1))) return true;
  return cause !== undefined && cause !== error && refusedProducerState(cause, depth + 1);
}
