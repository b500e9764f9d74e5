/**
 * Payload capture: reads a call's messages by the shapes protoc-gen-grpc-audit generates, leaves out
 * every sensitive field, and turns what is left into proto3 JSON (`redactToJson`), a canonical protobuf
 * encoding (`encodeCanonical`) and keyed HMAC-SHA256 digests (`payloadDigest`, `verifyPayloadDigest`).
 * It does not decide which calls are captured (the audit rules do) nor record anything (the
 * interceptors and the Recorder do).
 */

export { encodeCanonical } from "./canonical-encoding.js";
export {
  type DigestedPayload,
  type DigestKey,
  type PayloadDigestKey,
  type PayloadVerification,
  payloadDigest,
  RunningDigest,
  toDigestKey,
  verifyPayloadDigest,
} from "./digest.js";
export type { PayloadProblems } from "./read-message.js";
export { type JsonValue, redactToJson, redactToJsonText } from "./redact-json.js";
