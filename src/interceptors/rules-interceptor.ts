import { ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { AuditConfigError } from "../errors/index.js";
import { checkTimerMs } from "../errors/option-checks.js";
import type { PayloadDigestKey } from "../payload/index.js";
import { pendingRecordsOf } from "../recorder/pending-records.js";
import type { Recorder } from "../recorder/recorder.js";
import { statusMessagesOf } from "../recorder/status-messages-of.js";
import type { AuditRule, RuleTable } from "../rules/audit-rule.js";
import { mergeRuleTables } from "../rules/audit-rule-table.js";
import { watchAsyncHandlers } from "./handler-outcome.js";
import { createPayloadCapturer } from "./payload-capture.js";
import { type IdSide, idSideOf } from "./rule-input.js";
import { type CallSettings, RuledCall } from "./ruled-call.js";

/** Options of the rules interceptor, part of `createAuditInterceptors`' options. */
export interface RulesInterceptorOptions {
  /** Records the events. */
  recorder: Pick<Recorder, "recordResourceMutation" | "recordResourceAccess" | "reportError">;
  /** Generated rule tables (`auditRules` of each `_audit.ts` file); merged by method path. */
  rules: RuleTable | readonly RuleTable[];
  /**
   * Default "open": audit never changes the call's outcome. "closed": a call whose event is not
   * accepted ends with UNAVAILABLE "audit unavailable" instead of its own status. The handler has
   * already run by then; nothing is rolled back.
   */
  failMode?: "open" | "closed";
  /**
   * The HMAC key of payload digests, for rules with `payload` "digest" (see docs/payload-capture.md):
   * `secret` at least 32 bytes, `id` recorded in each event as `payload.key_id`. To rotate, give a key
   * with a new id; verify older events with the key their id names. Default: none; rules that ask for
   * digests then make creation throw an AuditConfigError naming their methods.
   */
  payloadDigestKey?: PayloadDigestKey;
  /**
   * How long the event of a call whose client had gone (a cancel, a passed deadline, a status grpc-js
   * sent itself) waits for its `asyncService` handler to settle, whose outcome it then records. grpc-js
   * lets the handler run on. When the wait ends first, the event says the outcome is unknown. A whole
   * number of milliseconds, 1 to 2^31 - 1 (the longest Node timer). Default: 10000.
   */
  handlerSettleTimeoutMs?: number;
}

/** Default of `handlerSettleTimeoutMs`. @internal */
export const DEFAULT_HANDLER_SETTLE_TIMEOUT_MS = 10_000;

/**
 * Records a RESOURCE_MUTATION event (a RESOURCE_ACCESS event for a rule with `event: "access"`) for
 * every call of a method that has a rule, exactly once, when the call ends: at its status, or — for a
 * client cancel, an expired deadline or a status grpc-js sends itself, where the handler's status never
 * reaches the client — by what the handler did: its outcome when `asyncService` reports it (waiting up
 * to `handlerSettleTimeoutMs`); that it never ran, a failure, for an `asyncService` handler whose start
 * was never reported (an interceptor after this one still held the call); else an unknown outcome (the
 * client's status, not a success, and a message that the handler may have completed), whatever
 * `recordOnError` says. The target id is read from the first request as received or the first response
 * as sent, as the rule's `targetIdField` says. A call refused before its handler started (by authn or
 * authz, for any reason) is never recorded as a mutation or an access: it changed and read nothing, and
 * its refusal is recorded by authn or authz. A rule with `payload` "digest" or "redacted" also records
 * the call's messages that way (requests as received, responses as sent). Methods without a rule pass
 * through.
 * @internal
 */
export function createRulesInterceptor(options: RulesInterceptorOptions): ServerInterceptor {
  const {
    recorder,
    failMode = "open",
    handlerSettleTimeoutMs = DEFAULT_HANDLER_SETTLE_TIMEOUT_MS,
  } = options ?? {};
  if (
    typeof recorder?.recordResourceMutation !== "function" ||
    typeof recorder.recordResourceAccess !== "function" ||
    typeof recorder.reportError !== "function"
  ) {
    throw new AuditConfigError("rules interceptor: `recorder` must be a Recorder");
  }
  if (failMode !== "open" && failMode !== "closed") {
    throw new AuditConfigError(
      `rules interceptor: failMode must be "open" or "closed", got ${String(failMode)}`,
    );
  }
  checkTimerMs("rules interceptor: `handlerSettleTimeoutMs`", handlerSettleTimeoutMs);
  const rules = mergeRuleTables(options.rules);
  const capturePayload = createPayloadCapturer(rules.values(), options.payloadDigestKey);
  const pending = pendingRecordsOf(recorder);
  const statusMessages = statusMessagesOf(recorder);
  const settings: CallSettings = { recorder, failMode, handlerSettleTimeoutMs, pending, statusMessages };
  const idSides = new Map<AuditRule, IdSide>();
  for (const rule of rules.values()) idSides.set(rule, idSideOf(rule.targetIdField));
  watchAsyncHandlers();

  return (methodDescriptor, call) => {
    const rule = rules.get(methodDescriptor.path);
    return rule === undefined
      ? new ServerInterceptingCall(call)
      : new RuledCall(
          call,
          rule,
          idSides.get(rule) ?? "end",
          settings,
          methodDescriptor,
          capturePayload(rule),
        );
  };
}
