/**
 * SaslHandshake (v1, classic encoding) and SaslAuthenticate (v2, flexible) for the PLAIN mechanism:
 * the credentials are checked against `state.saslUsers`; a wrong pair is SASL_AUTHENTICATION_FAILED
 * with Kafka's message. Requests on a connection that did not authenticate are still served.
 */
import type { BrokerState } from "./broker-state.js";
import type { Reader, Writer } from "./codec.js";
import { ErrorCode } from "./error-codes.js";

const MECHANISMS = ["PLAIN"];

/** SaslHandshake v1: PLAIN only. */
export function saslHandshake(_state: BrokerState, request: Reader, response: Writer): void {
  const mechanism = request.string(false);
  response
    .int16(MECHANISMS.includes(mechanism) ? 0 : ErrorCode.UNSUPPORTED_SASL_MECHANISM)
    .array(MECHANISMS, (w, m) => w.string(m), false);
}

/** SaslAuthenticate v2 (flexible): PLAIN's `\0username\0password`. */
export function saslAuthenticate(state: BrokerState, request: Reader, response: Writer): void {
  const authBytes = request.nullableBytes(true) ?? Buffer.alloc(0);
  request.taggedFields();
  const [, username = "", password] = authBytes.toString("utf8").split("\0");
  const ok = password !== undefined && state.saslUsers.get(username) === password;
  response
    .int16(ok ? 0 : ErrorCode.SASL_AUTHENTICATION_FAILED)
    .string(ok ? null : "Authentication failed: Invalid username or password")
    .bytes(Buffer.alloc(0))
    .int64(0n)
    .taggedFields();
}
