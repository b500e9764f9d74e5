/**
 * The error of a failed `@openfga/sdk` call, with the body of a token request removed: when the
 * client's `client_credentials` exchange fails, the SDK's `FgaApiAuthenticationError` keeps the form
 * it sent to the token issuer in `requestData` (`client_id=...&client_secret=...`, or a signed
 * `client_assertion`), and an application that logs the error whole would log the secret. The same
 * object is returned (its class, message, status and the issuer's answer are kept); the SDK's `clientId`,
 * `audience` and `grantType` fields still say which exchange failed. A `requestURL` holding a user
 * name or password (an `apiUrl` through a proxy with basic auth) keeps its host and path without
 * them. Any other error is returned as it is. Never throws.
 *
 * @internal
 */
export function withoutCredentials<T>(error: T): T {
  try {
    if (typeof error !== "object" || error === null) return error;
    const { requestData, requestURL } = error as { requestData?: unknown; requestURL?: unknown };
    if (holdsCredentials(requestData)) Reflect.deleteProperty(error, "requestData");
    if (typeof requestURL === "string") {
      const withoutUser = withoutUserInfo(requestURL);
      if (withoutUser !== requestURL) Object.assign(error, { requestURL: withoutUser });
    }
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

/** `url` without its user name and password; a text that is no URL but has an "@" is dropped whole. */
function withoutUserInfo(url: string): string {
  if (!url.includes("@")) return url;
  if (!URL.canParse(url)) return "<url with credentials hidden>";
  const parsed = new URL(url);
  if (parsed.username === "" && parsed.password === "") return url;
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}
