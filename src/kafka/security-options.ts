import { AuditConfigError } from "../errors/index.js";

/** The SASL mechanisms `@platformatic/kafka` 1.x speaks. */
const MECHANISMS: readonly unknown[] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI"];

/**
 * Checks the `tls` and `sasl` options of the Kafka broker and source, which the client (not in strict
 * mode) would only reject when connecting. `name(option)` formats an option's name for the error.
 * Errors name the option and never hold a credential (username, password, token).
 * @internal
 */
export function checkSecurityOptions(tls: unknown, sasl: unknown, name: (option: string) => string): void {
  if (tls !== undefined && (typeof tls !== "object" || tls === null || Array.isArray(tls)))
    throw new AuditConfigError(`${name("tls")} must be an object of node:tls connect options`);
  if (sasl === undefined) return;
  if (typeof sasl !== "object" || sasl === null || Array.isArray(sasl))
    throw new AuditConfigError(`${name("sasl")} must be an object ({ mechanism, username, password })`);
  const { mechanism, username, password, token, authenticate } = sasl as Record<string, unknown>;
  if (!MECHANISMS.includes(mechanism))
    // Not echoed: a value in the wrong place may be a credential.
    throw new AuditConfigError(`${name("sasl.mechanism")} must be one of ${MECHANISMS.join(", ")}`);
  if (authenticate !== undefined && typeof authenticate !== "function")
    throw new AuditConfigError(`${name("sasl.authenticate")} must be a function`);
  const credential = (key: string, value: unknown, required: boolean) => {
    if (value === undefined ? required : typeof value !== "string" && typeof value !== "function")
      throw new AuditConfigError(
        `${name(`sasl.${key}`)} must be a string or a function${required ? ` with ${mechanism}` : ""}`,
      );
  };
  const custom = authenticate !== undefined;
  const userAndPassword = mechanism === "PLAIN" || String(mechanism).startsWith("SCRAM-");
  credential("username", username, userAndPassword && !custom);
  credential("password", password, userAndPassword && !custom);
  credential("token", token, mechanism === "OAUTHBEARER" && !custom);
  if (mechanism === "GSSAPI" && !custom)
    throw new AuditConfigError(`${name("sasl.authenticate")} is required with GSSAPI`);
}
