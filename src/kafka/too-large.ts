/**
 * Whether Kafka refused a message as larger than the topic or broker takes (MESSAGE_TOO_LARGE, in any
 * of the errors `@platformatic/kafka` nests: a ResponseError's `errors`, a `cause`). A refusal for
 * good: sending it again never helps.
 * @internal
 */
export function refusedAsTooLarge(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { apiId, errors, cause } = error as { apiId?: unknown; errors?: unknown; cause?: unknown };
  if (apiId === "MESSAGE_TOO_LARGE") return true;
  if (Array.isArray(errors) && errors.some(refusedAsTooLarge)) return true;
  return cause !== undefined && cause !== error && refusedAsTooLarge(cause);
}
