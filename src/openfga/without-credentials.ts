/**
 * The error of a failed `@openfga/sdk` call, with the body of a token request removed: when the
 * client's `client_credentials` exchange fails, the SDK's `FgaApiAuthenticationError` keeps the form
 * it sent to the token issuer in `requestData` (`client_id=...&client_secret=...`, or a signed
 * `client_assertion`), and an application that logs the error whole would log the secret. The same
 * object is returned (its class, message, status and the issuer's answer are kept); the SDK's `clientId`,
 * `audience` and `grantType` fields still say which exchange failed. Any other error is returned as it
 * is. Never throws.
 *
 * @internal
 */
export function withoutCredentials<T>(error: T): T {
  try {
    if (typeof error !== "object" || error === null) return error;
    const { requestData } = error as { requestData?: unknown };
    if (holdsCredentials(requestData)) Reflect.deleteProperty(error, "requestData");
  } catch {}
  return error;
}

/** Token request parameters that are credentials (RFC 6749 §2.3.1, RFC 7523 §2.2). */
const CREDENTIAL_PARAMETERS: readonly string[] = ["client_secret", "client_assertion"];

/**
 * True for a token request's body, as the SDK keeps it: a string (form or JSON) that names a credential
 * parameter, or the object it was built from.
 */
function holdsCredentials(data: unknown): boolean {
  if (typeof data === "string") return CREDENTIAL_PARAMETERS.some((name) => data.includes(name));
  if (typeof data === "object" && data !== null)
    return CREDENTIAL_PARAMETERS.some((name) => Object.hasOwn(data, name));
  return false;
}
