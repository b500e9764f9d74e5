import type { CryptoKey, KeyObject } from "jose";

// Checks of JwtAuthenticatorOptions values that need more than a line (createJwtAuthenticator runs them).

/**
 * The JWS algorithm names jose verifies with (case-sensitive).
 * @internal
 */
export const JWS_ALGORITHM = /^(?:(?:HS|RS|PS|ES)(?:256|384|512)|EdDSA|Ed25519|ML-DSA-(?:44|65|87))$/;

/**
 * A gRPC metadata key for text values (any case: grpc-js lowercases keys), not reserved, not binary.
 * @internal
 */
export const TEXT_METADATA_KEY = /^(?!grpc-)[0-9a-z_.-]+(?<!-bin)$/i;

/**
 * A `typ` value: a media type (RFC 6838 names, no parameters), its `application/` prefix optional.
 * @internal
 */
export const MEDIA_TYPE = /^(?:[A-Za-z0-9][\w!#$&^.+-]{0,126}\/)?[A-Za-z0-9][\w!#$&^.+-]{0,126}$/;

/**
 * A `typ` value as jose compares it (RFC 7515 §4.1.9): case-insensitive, and `application/` implied
 * when the value holds no `/`, so "at+jwt", "AT+JWT" and "application/at+jwt" are one type.
 * @internal
 */
export function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return value.includes("/") ? lower : `application/${lower}`;
}

/**
 * Checks the `typ` option and resolves it to the accepted types, normalized as jose compares them
 * (an empty list is never returned: no option means no check). The index, not the value, is named.
 * @internal
 */
export function checkTyp(
  typ: string | readonly string[] | undefined,
  fail: (problem: string) => never,
): readonly string[] | undefined {
  if (typ === undefined) return undefined;
  const list: readonly unknown[] = typeof typ === "string" ? [typ] : Array.isArray(typ) ? typ : [];
  if (list.length === 0 || list.some((value) => typeof value !== "string" || value === "")) {
    fail('`typ` must be a non-empty string or list of strings, such as "at+jwt"');
  }
  const bad = list.findIndex((value) => !MEDIA_TYPE.test(value as string));
  if (bad !== -1) {
    const name = typeof typ === "string" ? "`typ`" : `\`typ[${bad}]\``;
    fail(`${name} is not a media type, such as "at+jwt" or "application/at+jwt"`);
  }
  return Object.freeze([...new Set(list.map((value) => normalizeTyp(value as string)))]);
}

/**
 * What jose verifies with: a KeyObject or CryptoKey (an object with a `type`), or HMAC secret bytes.
 * @internal
 */
export function isKey(key: unknown): key is CryptoKey | KeyObject | Uint8Array {
  if (key instanceof Uint8Array) return true;
  return typeof key === "object" && key !== null && typeof (key as { type?: unknown }).type === "string";
}

/**
 * An object that is not an array.
 * @internal
 */
export function isPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * jose takes no HMAC secret from a key set (`jwks` or `jwksUrl`): it verifies no token of an HS
 * algorithm with one, so such an algorithm listed beside a key set refuses every token of it.
 * @internal
 */
export function checkKeySetAlgorithms(algorithms: readonly string[], fail: (problem: string) => never): void {
  const hmac = algorithms.filter((alg) => alg.startsWith("HS"));
  if (hmac.length > 0) {
    fail(
      `\`algorithms\` ${hmac.join(", ")} cannot verify with a key set: a key set holds public keys only (jose refuses secrets from one); give the secret as \`key\``,
    );
  }
}

/**
 * The ports fetch refuses to connect to over http(s) (WHATWG Fetch "bad port", as in undici's
 * `badPorts` on Node 20 and 24). `URL.port` is "" for a scheme's default port, never listed.
 * @internal
 */
export const FETCH_BAD_PORTS: ReadonlySet<string> = new Set(
  [
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
    109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
    526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
    3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
  ].map(String),
);

/**
 * jose fetches any URL it is given; only http(s) can serve a key set. The URL is not quoted (it may hold credentials).
 * @internal
 */
export function checkJwksUrl(url: string | URL, fail: (problem: string) => never): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    fail("`jwksUrl` is not a valid URL");
  }
  const { protocol, username, password, port } = parsed as URL;
  if (protocol !== "http:" && protocol !== "https:") fail("`jwksUrl` must be an http: or https: URL");
  // fetch blocks these ports before connecting: every token would be refused as "error" with a bare TypeError.
  if (FETCH_BAD_PORTS.has(port))
    fail(`\`jwksUrl\` port ${port} is one fetch refuses to connect to; serve the key set on another port`);
  // fetch refuses a URL with credentials: every token would be refused as "error", with nothing saying why.
  if (username !== "" || password !== "") {
    fail(
      "`jwksUrl` must not hold a user name or password (fetch refuses such URLs); send credentials with `remoteJwksOptions.headers`",
    );
  }
}

/** Control characters but tab, which fetch refuses to send in a header value. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSENDABLE = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * jose turns `remoteJwksOptions.headers` into fetch `Headers` when the key set is created; `Headers`
 * refuses a bad name or value with a message quoting it, and a value may be a credential (an
 * `authorization` header). Checked here first, so the error names the option and never the value.
 * @internal
 */
export function checkJwksHeaders(headers: unknown, fail: (problem: string) => never): void {
  if (headers === undefined) return;
  let valid: boolean;
  try {
    // Headers refuses NUL, CR and LF; fetch refuses the other control characters only when it sends.
    const values = [...new Headers(headers as ConstructorParameters<typeof Headers>[0]).values()];
    valid = values.every((value) => !UNSENDABLE.test(value));
  } catch {
    valid = false;
  }
  if (!valid) fail("`remoteJwksOptions.headers` has an invalid header name or value");
}

/**
 * Why jose refused the key set or `remoteJwksOptions` at creation: its own option and key set
 * messages are quoted (they hold names, never values); any other message (a header value in
 * `remoteJwksOptions.headers` may be a credential) stays in `cause`.
 * @internal
 */
export function keySetProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : "";
  if (/^"\w+" option must [\w -]+$/.test(message)) return `\`remoteJwksOptions\`: ${message}`;
  if (/^JSON Web Key Set [\w ]+$/.test(message)) return `\`jwks\` is invalid: ${message}`;
  return "the key set is invalid";
}
