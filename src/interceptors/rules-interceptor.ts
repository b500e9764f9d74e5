import { AsyncResource } from "node:async_hooks";
import {
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
  status as Status,
} from "@grpc/grpc-js";
import { type HandlerSettlement, whenHandlerSettles } from "../context/handler-state.js";
import { type AuditScope, currentAuditScope, runInAuditScope } from "../context/scope.js";
import { AuditConfigError, AuditError } from "../errors/index.js";
import { checkTimerMs } from "../errors/option-checks.js";
import type { PayloadDigestKey } from "../payload/index.js";
import type { ResourceAccessInput, ResourceMutationInput } from "../recorder/inputs.js";
import { type PendingRecords, pendingRecordsOf } from "../recorder/pending-records.js";
import type { Recorder, RecordOutcome } from "../recorder/recorder.js";
import type { StatusMessagePolicy } from "../recorder/status-message.js";
import { statusMessagesOf } from "../recorder/status-messages-of.js";
import { markUnanswered } from "../recorder/unanswered-calls.js";
import type { AuditRule, RuleTable } from "../rules/audit-rule.js";
import { mergeRuleTables } from "../rules/audit-rule-table.js";
import { sendableDetails } from "../server/status-details.js";
import { type CallStream, callStreamOf } from "./call-stream.js";
import { ForwardingCall, type OutboundStatus } from "./forwarding-call.js";
import { resultAfterCancel, watchAsyncHandlers } from "./handler-outcome.js";
import { cancelledCallStatus, ownStatusOf } from "./own-status.js";
import { type CallPayload, createPayloadCapturer } from "./payload-capture.js";

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
   * lets the handler run on. When the wait ends first, the event says the outcome is unknown. A positive
   * number of milliseconds, at most 2^31 - 1 (the longest Node timer). Default: 10000.
   */
  handlerSettleTimeoutMs?: number;
}

/** Default of `handlerSettleTimeoutMs`. @internal */
export const DEFAULT_HANDLER_SETTLE_TIMEOUT_MS = 10_000;

/**
 * Status message sent instead of the call's own status when a fail-closed event is not accepted.
 * @internal
 */
export const AUDIT_UNAVAILABLE_MESSAGE = "audit unavailable";

/**
 * Records a RESOURCE_MUTATION event (a RESOURCE_ACCESS event for a rule with `event: "access"`) for
 * every call of a method that has a rule, exactly once, when the call ends: at its status, or — for a
 * client cancel, an expired deadline or a status grpc-js sends itself, where the handler's status never
 * reaches the client — by what the handler did: its outcome when `asyncService` reports it (waiting up
 * to `handlerSettleTimeoutMs`), else an unknown outcome (the client's status, not a success, and a
 * message that the handler may have completed), whatever `recordOnError` says. The target id is read
 * from the first request as received or the first response as sent, as the rule's `targetIdField`
 * says. A call refused before its handler started (by authn or authz, for any reason) is never
 * recorded as a mutation or an access: it changed and read nothing, and its refusal is recorded by
 * authn or authz. A rule with `payload` "digest" or "redacted"
 * also records the call's messages that way (requests as received, responses as sent). Methods without
 * a rule pass through.
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

/** True for a gRPC status code the Recorder takes: an integer from 0 (OK) to 16 (UNAUTHENTICATED). */
function isStatusCode(code: number): boolean {
  return Number.isInteger(code) && code >= Status.OK && code <= Status.UNAUTHENTICATED;
}

/** What every call of one interceptor shares. */
interface CallSettings {
  readonly recorder: RulesInterceptorOptions["recorder"];
  readonly failMode: "open" | "closed";
  readonly handlerSettleTimeoutMs: number;
  /** The Recorder's count of records still to come, which its close() waits for. */
  readonly pending: PendingRecords;
  /** The Recorder's `statusMessages` policy; undefined for a Recorder `createRecorder` did not make. */
  readonly statusMessages: StatusMessagePolicy | undefined;
}

/**
 * When a rule's target id is read: from the first request as received ("req"), from the first
 * response as sent ("resp"), so that a handler changing those objects later does not change it, or at
 * the end (a hand-written rule with another `targetIdField`, or none).
 */
type IdSide = "req" | "resp" | "end";

function idSideOf(field: unknown): IdSide {
  if (typeof field !== "string") return "end";
  if (field.startsWith("req.")) return "req";
  return field.startsWith("resp.") ? "resp" : "end";
}

/** One call of a method with a rule: what the interceptor keeps of it until it ends. */
class RuledCall extends ForwardingCall {
  /**
   * True once the handler has started: the call's metadata (streamed requests) or its half-close
   * (unary and server-streaming requests, whose handler grpc-js starts at the half-close) passed the
   * interceptors before this one. A call refused before that never ran its handler: no mutation.
   */
  private reached = false;
  /**
   * True when grpc-js refuses the call itself, through this interceptor, because a unary or
   * server-streaming request came with no message or a second one: its handler never runs.
   */
  private malformed = false;
  private scope: AuditScope | undefined;
  private request: unknown;
  private response: unknown;
  /** The target id, once read at the message its rule names. */
  private resourceId: string | undefined;
  private seenRequest = false;
  private seenResponse = false;
  private ended = false;
  /** True once the client ended its messages (grpc-js also reads a cancel's first step so). */
  private inputEnded = false;
  /** True from the status of a call held until its stream closes (see `heldStream`) to its record. */
  private held = false;
  /** True from the call's metadata until its event is recorded or will not be: the Recorder waits for it. */
  private recordPending = false;

  constructor(
    inner: ServerInterceptingCallInterface,
    private readonly rule: AuditRule,
    private readonly idSide: IdSide,
    private readonly settings: CallSettings,
    private readonly method: Pick<ServerMethodDefinition<unknown, unknown>, "requestStream">,
    /** The call's payload capture; undefined when its rule captures nothing. */
    private readonly payload: CallPayload | undefined,
  ) {
    super(inner);
  }

  override onReceiveMetadata(metadata: Metadata): void {
    this.recordPending = true;
    this.settings.pending.add();
    if (this.method.requestStream) this.reached = true;
    this.scope = currentAuditScope();
    this.listener.onReceiveMetadata(metadata);
  }

  override onReceiveMessage(message: unknown): void {
    if (!this.seenRequest) {
      this.seenRequest = true;
      this.request = message;
      if (this.idSide === "req") this.resourceId = this.targetId(message, undefined);
    } else if (!this.method.requestStream) {
      this.malformed = true;
    }
    this.payload?.request(message);
    this.listener.onReceiveMessage(message);
  }

  override onReceiveHalfClose(): void {
    this.reached = true;
    // Without a request message grpc-js answers a unary or server-streaming call UNIMPLEMENTED itself,
    // through this interceptor, without running the handler.
    if (!this.seenRequest && !this.method.requestStream) this.malformed = true;
    this.inputEnded = true;
    this.listener.onReceiveHalfClose();
  }

  override onCancel(): void {
    // grpc-js calls every interceptor's onCancel after every call, also after a normal status and for
    // calls an outer interceptor refused before their handler ran (authn, or authz that waited for the
    // request message): those changed nothing and the client got the refusal, not CANCELLED.
    if (this.reached && !this.ended) {
      this.ended = true;
      // grpc-js may have ended the call itself (a message it could not decode, serialize or take):
      // the scope interceptor saw that status. Else the client cancelled or the deadline passed.
      const { code } = cancelledCallStatus(this.scope, this.inner.getDeadline());
      const client = { code, own: ownStatusOf(this.scope) !== undefined };
      // grpc-js lets the handler run on and drops its status: record what it did, when it can be known,
      // in the context an asyncService handler started in (its span), though a timer or this cancel
      // learns it. A plain handler's start reaches no interceptor: its event takes this cancel's context.
      whenHandlerSettles(this.scope, this.settings.handlerSettleTimeoutMs, (settlement) =>
        this.endAfterCancel(client, settlement),
      );
    } else {
      // Refused before its handler ran, or recorded at its status already: no event to come (or one
      // held until the stream closes, which settles it then).
      if (!this.held) this.settle();
    }
    this.listener.onCancel();
  }

  override sendMessage(message: unknown, callback: () => void): void {
    if (!this.seenResponse) {
      this.seenResponse = true;
      this.response = message;
      if (this.idSide === "resp") this.resourceId = this.targetId(this.request, message);
    }
    this.payload?.response(message);
    this.inner.sendMessage(message, callback);
  }

  override sendStatus(status: OutboundStatus): void {
    if (this.malformed) {
      // grpc-js refusing a request it cannot run: no handler ran, nothing changed or was read. (A
      // refusal by an interceptor after this one is the service's answer, recorded as the handler's.)
      this.ended = true;
      this.settle();
      this.inner.sendStatus(status);
      return;
    }
    // Recorded as sent: grpc-js throws on a lone surrogate (an uncaught URIError when answered from a
    // timer) and an over-long trailer stalls the connection, so the client would get something else.
    const details = sendableDetails(status.details ?? "");
    const stream = this.heldStream();
    if (stream !== undefined) {
      this.ended = true;
      this.held = true;
      this.inner.sendStatus(details === status.details ? status : { ...status, details });
      const record = () => this.endAtClose(status.code, details, stream.rstCode !== 0);
      if (stream.closed) record();
      // The close comes from outside the handler's async context: record in the one the status went
      // out in, as at a status, so the event carries the handler's span (every AsyncLocalStorage store).
      else stream.once("close", AsyncResource.bind(record, "grpc-audit.held-status"));
      return;
    }
    const outcome = this.end(status.code, details);
    if (this.settings.failMode === "closed" && outcome !== undefined && outcome !== "accepted") {
      this.inner.sendStatus({
        code: Status.UNAVAILABLE,
        details: AUDIT_UNAVAILABLE_MESSAGE,
        metadata: status.metadata ?? null,
      });
    } else {
      this.inner.sendStatus(details === status.details ? status : { ...status, details });
    }
  }

  /**
   * The HTTP/2 stream of a request-streaming call whose client had ended its messages, when its status
   * is to be recorded at the stream's close instead: a grpc-js client that cancels such a call ends its
   * messages first and resets the stream only after that, usually after the handler, whose loop over
   * the messages has ended, answered. Only a reset (a close with an RST_STREAM code) then tells that the
   * client did not get that answer. Fail-closed calls are recorded at their status, which their record
   * decides; so is a call whose stream grpc-js did not show (see call-stream.ts).
   */
  private heldStream(): CallStream | undefined {
    if (!this.method.requestStream || !this.inputEnded || this.ended) return undefined;
    return this.settings.failMode === "open" ? callStreamOf(this.scope) : undefined;
  }

  /** Records a held call once its stream closed: `reset`, its client did not get the status. */
  private endAtClose(code: number, details: string, reset: boolean): void {
    this.held = false;
    if (!reset) {
      this.recordStatus(code, details);
      return;
    }
    const status = isStatusCode(code)
      ? { code, details }
      : { code: Status.UNKNOWN, details: `status code ${code}: ${details}` };
    // As at a cancel: a reset at the deadline is the deadline's (grpc-js's timer resets the stream).
    const client = cancelledCallStatus(this.scope, this.inner.getDeadline()).code;
    this.endAfterCancel({ code: client, own: ownStatusOf(this.scope) !== undefined }, status);
  }

  /** Records the call's end at its status, once; returns undefined when nothing was recorded. */
  private end(code: number, details: string): RecordOutcome | undefined {
    if (this.ended) return undefined;
    this.ended = true;
    return this.recordStatus(code, details);
  }

  /** Records the status the client got; undefined when the rule records no failures. */
  private recordStatus(code: number, details: string): RecordOutcome | undefined {
    if (code !== Status.OK && !this.rule.recordOnError) {
      this.settle();
      return undefined;
    }
    const outcome = isStatusCode(code)
      ? this.recordEnd(
          { success: code === Status.OK, code, message: code === Status.OK ? "" : details },
          undefined,
          false,
        )
      : this.recordOddCode(code, details);
    this.settle();
    return outcome;
  }

  /**
   * A status code outside 0–16 (a plain handler's `{ code: 99 }`), which grpc-js sends as it is: recorded
   * as UNKNOWN, the message naming the code the client got.
   */
  private recordOddCode(code: number, details: string): RecordOutcome {
    const named = `status code ${code}`;
    // Only the handler's part follows the status message policy: "omit" keeps the code's name.
    if ((this.rule.statusMessage ?? this.settings.statusMessages) === "omit") {
      return this.recordEnd({ success: false, code: Status.UNKNOWN, message: named }, "record", false);
    }
    const message = details === "" ? named : `${named}: ${details}`;
    return this.recordEnd({ success: false, code: Status.UNKNOWN, message }, undefined, false);
  }

  /** Records a call whose status never reached the client, by what its handler did. */
  private endAfterCancel(client: { code: number; own: boolean }, settlement: HandlerSettlement): void {
    const after = resultAfterCancel(
      client,
      settlement,
      this.rule.recordOnError,
      this.rule.event === "access",
      this.settings.handlerSettleTimeoutMs,
      this.rule.statusMessage ?? this.settings.statusMessages,
    );
    if (after !== undefined) this.recordEnd(after.result, after.statusMessages, true);
    this.settle();
  }

  /** Notes to the Recorder that this call's event was recorded, or will not be; once. */
  private settle(): void {
    if (!this.recordPending) return;
    this.recordPending = false;
    this.settings.pending.done();
  }

  /** `unanswered`: the client did not get the handler's answer (see `endAfterCancel`). */
  private recordEnd(
    result: { success: boolean; code: number; message: string },
    statusMessages: "record" | undefined,
    unanswered: boolean,
  ): RecordOutcome {
    const rule = this.rule;
    const resourceId = this.resourceId ?? this.targetId(this.request, this.response);
    // One literal per kind, optional fields set after it: spreads here made three objects per call.
    const input: ResourceAccessInput | ResourceMutationInput =
      rule.event === "access"
        ? { resourceType: rule.targetType, resourceId, operation: rule.method, result }
        : {
            mutation: rule.mutation,
            resourceType: rule.targetType,
            resourceId,
            operation: rule.method,
            result,
          };
    const policy = statusMessages ?? rule.statusMessage;
    if (policy !== undefined) input.statusMessages = policy;
    if (this.payload !== undefined) {
      input.payload = this.payload.finish((error) => this.settings.recorder.reportError(error));
    }
    // Even a handler that finished OK: the client never learned it, so a record policy must not skip it.
    if (unanswered) markUnanswered(input);
    // The status usually comes from the handler, inside the scope already; a cancel comes from outside.
    if (this.scope === undefined || currentAuditScope() === this.scope) return this.record(input);
    return runInAuditScope(this.scope, () => this.record(input));
  }

  private record(input: ResourceAccessInput | ResourceMutationInput): RecordOutcome {
    const recorder = this.settings.recorder;
    return "mutation" in input
      ? recorder.recordResourceMutation(input)
      : recorder.recordResourceAccess(input);
  }

  private targetId(request: unknown, response: unknown): string {
    try {
      const id = this.rule.targetId(request, response);
      if (typeof id === "string") return id;
      this.settings.recorder.reportError(
        new AuditError(`rules: targetId of ${this.rule.method} returned a ${typeof id}`),
      );
    } catch (error) {
      // Generated extractors never throw; a hand-written one must not break the call, only be counted.
      this.settings.recorder.reportError(
        new AuditError(`rules: targetId of ${this.rule.method} threw`, { cause: error }),
      );
    }
    return "";
  }
}
