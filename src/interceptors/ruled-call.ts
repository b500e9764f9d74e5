// RuledCall: one call of a method with a rule, followed from its metadata to its one recorded event.
import { AsyncResource } from "node:async_hooks";
import {
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerMethodDefinition,
  status as Status,
} from "@grpc/grpc-js";
import { type HandlerSettlement, whenHandlerSettles } from "../context/handler-state.js";
import { type AuditScope, currentAuditScope, runInAuditScope } from "../context/scope.js";
import type { PendingRecords } from "../recorder/pending-records.js";
import type { Recorder, RecordOutcome } from "../recorder/recorder.js";
import type { StatusMessagePolicy } from "../recorder/status-message.js";
import { markUnanswered } from "../recorder/unanswered-calls.js";
import type { AuditRule } from "../rules/audit-rule.js";
import { sendableDetails } from "../server/status-details.js";
import { type CallStream, callStreamOf } from "./call-stream.js";
import { ForwardingCall, type OutboundStatus } from "./forwarding-call.js";
import { resultAfterCancel, runsReportingHandler } from "./handler-outcome.js";
import { cancelledCallStatus, type OwnStatusSender, ownStatusOf } from "./own-status.js";
import type { CallPayload } from "./payload-capture.js";
import { type IdSide, isStatusCode, readTargetId, recordInput, ruleInput } from "./rule-input.js";

/**
 * Status message sent instead of the call's own status when a fail-closed event is not accepted.
 * @internal
 */
export const AUDIT_UNAVAILABLE_MESSAGE = "audit unavailable";

/** What every call of one interceptor shares. @internal */
export interface CallSettings {
  readonly recorder: Pick<Recorder, "recordResourceMutation" | "recordResourceAccess" | "reportError">;
  readonly failMode: "open" | "closed";
  readonly handlerSettleTimeoutMs: number;
  /** The Recorder's count of records still to come, which its close() waits for. */
  readonly pending: PendingRecords;
  /** The Recorder's `statusMessages` policy; undefined for a Recorder `createRecorder` did not make. */
  readonly statusMessages: StatusMessagePolicy | undefined;
}

/** One call of a method with a rule: what the interceptor keeps of it until it ends. @internal */
export class RuledCall extends ForwardingCall {
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
      if (this.idSide === "req") {
        this.resourceId = readTargetId(this.rule, this.settings.recorder, message, undefined);
      }
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
      const client = { code, own: ownStatusOf(this.scope)?.by };
      // grpc-js lets the handler run on and drops its status: record what it did, when it can be known,
      // in the context an asyncService handler started in (its span), though a timer or this cancel
      // learns it. An asyncService handler reports its start as grpc-js calls it, so without one it never
      // ran (an interceptor after this one still held the call); a plain handler's start reaches no
      // interceptor: its event takes this cancel's context.
      whenHandlerSettles(
        this.scope,
        this.settings.handlerSettleTimeoutMs,
        (settlement) => this.endAfterCancel(client, settlement),
        runsReportingHandler(this.inner),
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
      if (this.idSide === "resp") {
        this.resourceId = readTargetId(this.rule, this.settings.recorder, this.request, message);
      }
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
      // Closed already: reset before this status, which grpc-js then drops, whatever the reset's code.
      const resetBefore = stream.closed;
      this.inner.sendStatus(details === status.details ? status : { ...status, details });
      if (resetBefore) {
        this.endAtClose(status.code, details, true);
        return;
      }
      // The close comes from outside the handler's async context: record in the one the status went
      // out in, as at a status, so the event carries the handler's span (every AsyncLocalStorage store).
      // Every fail-open call passes here: an AsyncResource and one listener cost far less per call than
      // AsyncResource.bind, whose bound function is slow to build.
      const context = new AsyncResource("grpc-audit.held-status");
      stream.once("close", () =>
        context.runInAsyncScope(this.endAtClose, this, status.code, details, stream.rstCode !== 0),
      );
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
   * The HTTP/2 stream of a call whose client had ended its messages, when its status is to be recorded
   * at the stream's close instead: a client that cancels may end its messages first and reset the
   * stream just after (a grpc-js client cancelling a request-streaming call; Node's `stream.close()`
   * on any call), and the handler, started or let on by that end, may answer before the reset is read.
   * Only a reset (a close with an RST_STREAM code) then tells that the client did not get the answer;
   * one with NO_ERROR (0, a raw HTTP/2 client's) after the status reads as a normal end. Fail-closed
   * calls are recorded at their status, which their record decides; so is a call whose stream grpc-js
   * did not show (see call-stream.ts).
   */
  private heldStream(): CallStream | undefined {
    if (!this.inputEnded || this.ended) return undefined;
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
    this.endAfterCancel({ code: client, own: ownStatusOf(this.scope)?.by }, status);
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
  private endAfterCancel(
    client: { code: number; own: OwnStatusSender | undefined },
    settlement: HandlerSettlement,
  ): void {
    // The response of a handler that resolved after the cancel reaches sendMessage (which drops it)
    // only after this records the event: read a `resp.` target id from the one the handler resolved
    // with, as sendMessage would have, and once: sendMessage then takes it as seen.
    if (
      this.idSide === "resp" &&
      !this.seenResponse &&
      typeof settlement === "object" &&
      "response" in settlement
    ) {
      this.seenResponse = true;
      this.response = settlement.response;
      this.resourceId = readTargetId(this.rule, this.settings.recorder, this.request, settlement.response);
    }
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
    const recorder = this.settings.recorder;
    const resourceId = this.resourceId ?? readTargetId(rule, recorder, this.request, this.response);
    const input = ruleInput(rule, resourceId, result);
    const policy = statusMessages ?? rule.statusMessage;
    if (policy !== undefined) input.statusMessages = policy;
    if (this.payload !== undefined) {
      input.payload = this.payload.finish((error) => this.settings.recorder.reportError(error));
    }
    // Even a handler that finished OK: the client never learned it, so a record policy must not skip it.
    if (unanswered) markUnanswered(input);
    // The status usually comes from the handler, inside the scope already; a cancel comes from outside.
    if (this.scope === undefined || currentAuditScope() === this.scope) return recordInput(recorder, input);
    return runInAuditScope(this.scope, () => recordInput(recorder, input));
  }
}
