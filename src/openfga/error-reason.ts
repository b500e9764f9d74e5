import { errorCode } from "../authz/error-code.js";

/**
 * The credential-free reason for an error thrown by `@openfga/sdk`:
 *
 * - "rate_limited" for HTTP 429 (`FgaApiRateLimitExceededError`, after the SDK's own retries);
 * - "unavailable" for 5xx answers (`FgaApiInternalError`, or `FgaApiError` for 501) and for transport
 *   failures, which the SDK wraps in a plain `FgaError` that carries no status;
 * - else OpenFGA's own error code from the answer body (such as "validation_error" or
 *   "write_failed_due_to_invalid_input"), else the error's class name (such as "FgaValidationError").
 *
 * Only `statusCode`, `apiErrorCode` and `name` are read, never the message: SDK errors embed the request
 * body and the server's message, and `requestData` may hold client credentials.
 *
 * @internal
 */
export function openFgaErrorReason(error: unknown): string {
  if (typeof error !== "object" || error === null) return errorCode(error);
  const { statusCode, apiErrorCode, responseData, name } = error as {
    statusCode?: unknown;
    apiErrorCode?: unknown;
    responseData?: unknown;
    name?: unknown;
  };
  if (statusCode === 429) return "rate_limited";
  if (typeof statusCode === "number" && statusCode >= 500) return "unavailable";
  if (statusCode === undefined && name === "FgaError") return "unavailable";
  // The SDK sets `apiErrorCode` only on its 400 and 404 classes; for other answers (409 conflict, ...)
  // the code is in the answer body only.
  return engineCode(apiErrorCode) ?? engineCode(bodyCode(responseData)) ?? errorCode(error);
}

/** The `code` of an OpenFGA error body, when the answer had one. */
function bodyCode(data: unknown): unknown {
  return typeof data === "object" && data !== null ? (data as { code?: unknown }).code : undefined;
}

/**
 * The reason for an error OpenFGA reported for one check of a batch (`{ input_error, internal_error,
 * message }`), or undefined when it reports none (servers may send an empty error beside a result).
 *
 * @internal
 */
export function batchItemErrorReason(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { input_error, internal_error, message } = error as Record<string, unknown>;
  const input = input_error === "no_error" ? undefined : engineCode(input_error);
  const internal = internal_error === "no_internal_error" ? undefined : engineCode(internal_error);
  if (input !== undefined) return input;
  if (internal !== undefined) return internal;
  return typeof message === "string" && message !== "" ? "check_error" : undefined;
}

/** An engine error code when it is a short identifier (see `errorCode`), else undefined. */
function engineCode(code: unknown): string | undefined {
  if (typeof code !== "string") return undefined;
  const safe = errorCode({ code });
  return safe === "unknown_error" ? undefined : safe;
}
