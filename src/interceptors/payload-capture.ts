import { AuditConfigError, AuditError } from "../errors/index.js";
import { MAX_PAYLOAD_JSON_BYTES, type PayloadInput } from "../event/record-context.js";
import {
  type DigestKey,
  encodeCanonical,
  type PayloadDigestKey,
  type PayloadProblems,
  RunningDigest,
  redactToJsonText,
  toDigestKey,
} from "../payload/index.js";
import { report } from "../payload/read-problems.js";
import type { AuditRule } from "../rules/audit-rule.js";
import { checkMessageShape } from "../rules/check-message-shape.js";
import type { MessageShape } from "../rules/message-shape.js";

/** Starts the payload capture of one call of `rule`'s method; undefined when the rule captures nothing. */
export type PayloadCapturer = (rule: AuditRule) => CallPayload | undefined;

/**
 * Checks the payload settings of `rules` once, at creation, and returns what starts each call's
 * capture. Throws an AuditConfigError for a `payload` other than "none", "digest" or "redacted", for a
 * capturing rule without `requestShape` and `responseShape` or with a malformed one (see
 * checkMessageShape), for a bad `payloadDigestKey`, and when rules ask for digests but no key is given
 * (naming those methods). Never names the secret.
 * @internal
 */
export function createPayloadCapturer(
  rules: Iterable<AuditRule>,
  payloadDigestKey: PayloadDigestKey | undefined,
): PayloadCapturer {
  const key = payloadDigestKey === undefined ? undefined : toDigestKey(payloadDigestKey, "payloadDigestKey");
  const digested: string[] = [];
  // Rules share message shapes: each is checked once.
  const checked = new Set<object>();
  for (const rule of rules) {
    const { payload } = rule;
    if (payload === undefined || payload === "none") continue;
    if (payload !== "digest" && payload !== "redacted") {
      throw new AuditConfigError(
        `rules: payload of ${rule.method} must be "none", "digest" or "redacted", got ${String(payload)}`,
      );
    }
    const { requestShape, responseShape } = rule;
    if (requestShape === undefined || responseShape === undefined) {
      throw new AuditConfigError(
        `rules: ${rule.method} captures payloads ("${payload}") but has no requestShape and responseShape`,
      );
    }
    checkMessageShape(`rule ${rule.method}: request shape`, requestShape, checked);
    checkMessageShape(`rule ${rule.method}: response shape`, responseShape, checked);
    if (payload === "digest") digested.push(rule.method);
  }
  if (digested.length > 0 && key === undefined) {
    throw new AuditConfigError(
      `payloadDigestKey is required: rules capture payload digests for ${digested.join(", ")}`,
    );
  }
  return (rule) => {
    const { payload, requestShape, responseShape } = rule;
    if (payload !== "digest" && payload !== "redacted") return undefined;
    // Checked above: capturing rules have both shapes, and digest rules a key.
    if (requestShape === undefined || responseShape === undefined) return undefined;
    return new CallPayload(rule.method, requestShape, responseShape, payload === "digest" ? key : undefined);
  };
}

/**
 * The payload capture of one call: with a key, a running digest per direction; without, the first
 * message per direction as redacted JSON. Each message is captured when it passes (requests as
 * received, responses as sent), so later changes to the objects do not matter. Never throws.
 * @internal
 */
export class CallPayload {
  private requestCount = 0;
  private responseCount = 0;
  private requestDigest: RunningDigest | undefined;
  private responseDigest: RunningDigest | undefined;
  private requestJson = "";
  private responseJson = "";
  private readonly problems: PayloadProblems = { count: 0, first: [] };
  /** Set by finish(): the digests are final (a finalized Hmac throws on update). */
  private finished = false;

  constructor(
    private readonly method: string,
    private readonly requestShape: MessageShape,
    private readonly responseShape: MessageShape,
    /** The digest key; undefined: capture redacted JSON. */
    private readonly key: DigestKey | undefined,
  ) {}

  /** Captures a request message as the handler receives it; ignored once the call is finished. */
  request(message: unknown): void {
    if (this.finished) return;
    if (this.key !== undefined) {
      this.requestDigest ??= new RunningDigest(this.key.key);
      this.requestDigest.add(this.encode(this.requestShape, message));
    } else if (this.requestCount === 0) {
      this.requestJson = this.json(this.requestShape, message);
    }
    this.requestCount++;
  }

  /**
   * Captures a response message as the handler sends it; ignored once the call is finished (a handler
   * that calls its callback twice: grpc-js drops the second response, and the digest is already final).
   */
  response(message: unknown): void {
    if (this.finished) return;
    if (this.key !== undefined) {
      this.responseDigest ??= new RunningDigest(this.key.key);
      this.responseDigest.add(this.encode(this.responseShape, message));
    } else if (this.responseCount === 0) {
      this.responseJson = this.json(this.responseShape, message);
    }
    this.responseCount++;
  }

  /**
   * The event's payload. Values left out because they had the wrong type are reported once through
   * `report` (by path and type, never by value). Call once, when the call ends: messages that pass
   * after it are not captured.
   */
  finish(report: (error: AuditError) => void): PayloadInput {
    this.finished = true;
    if (this.problems.count > 0) {
      report(
        new AuditError(
          `payload: ${this.method}: ${this.problems.count} value(s) left out: ${this.problems.first.join("; ")}`,
        ),
      );
    }
    const counts = { requestCount: this.requestCount, responseCount: this.responseCount };
    if (this.key === undefined) {
      return {
        capture: "redacted",
        ...counts,
        requestJson: this.requestJson,
        responseJson: this.responseJson,
      };
    }
    return {
      capture: "digest",
      keyId: this.key.id,
      requestDigest: this.requestDigest?.hex() ?? "",
      responseDigest: this.responseDigest?.hex() ?? "",
      ...counts,
    };
  }

  // The reader never throws; these guards keep a bug in it from reaching the call.
  private encode(shape: MessageShape, message: unknown): Uint8Array {
    try {
      return encodeCanonical(shape, message, this.problems);
    } catch {
      this.unreadable(shape);
      return new Uint8Array(); // still framed: the count and the digest stay in step
    }
  }

  private json(shape: MessageShape, message: unknown): string {
    try {
      return redactToJsonText(shape, message, MAX_PAYLOAD_JSON_BYTES, this.problems);
    } catch {
      this.unreadable(shape);
      return "";
    }
  }

  private unreadable(shape: MessageShape): void {
    report(this.problems, undefined, shape.typeName, "could not be read");
  }
}
