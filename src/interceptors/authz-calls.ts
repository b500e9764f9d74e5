import { AsyncResource } from "node:async_hooks";
import { type Metadata, type ServerInterceptingCallInterface, status as Status } from "@grpc/grpc-js";
import type { AuthzDecisionInput } from "../authz/observer.js";
import { currentAuditScope } from "../context/scope.js";
import type { PendingRecords } from "../recorder/pending-records.js";
import type { AuthzRule } from "../rules/authz-rule.js";
import { type Refusal, UNAVAILABLE_REFUSAL } from "./authz-refusals.js";
import type { OutboundStatus } from "./forwarding-call.js";
import { GatedCall } from "./gated-call.js";
import { cancelledCallStatus, isAtDeadline, ownStatusOf } from "./own-status.js";

/** What `decide` reads of a call whose check waits for the authorizer. */
export interface CheckedCall {
  /** The status the call ended with while its check waited (a client cancel, its deadline), if it did. */
  readonly endedWith: { code: number } | undefined;
  /**
   * Aborts `controller` (the check's signal) when the call ends while its check waits, or at once if
   * it already has: nobody waits for the answer any more, so the authorizer's request is cancelled.
   */
  abortOnEnd(controller: AbortController): void;
}

/** One call of a method with an authz rule: held at the event that carries the object id until decided. */
export class AuthzCall extends GatedCall implements CheckedCall {
  private readonly idFromRequest: boolean;
  /** True once the call was checked (at its metadata, or at its first message). */
  private checked = false;
  /** True once its metadata passed, while the request message its object id is read from is awaited. */
  private awaitingRequest = false;
  /** True while its check waits for the authorizer. */
  private waiting = false;
  /**
   * The async context its metadata passed in, for a check at the request message: grpc-js delivers
   * the message in whatever context it decoded it in (on a connection's first call, that of a span a
   * later interceptor opened), and the decision's trace ids are read from the active context.
   */
  private metadataContext: AsyncResource | undefined;
  /** The check's signal while it waits for the authorizer, aborted when the call ends first. */
  private checkController: AbortController | undefined;
  endedWith: { code: number } | undefined;

  constructor(
    inner: ServerInterceptingCallInterface,
    private readonly rule: AuthzRule,
    private readonly decide: (
      rule: AuthzRule,
      objectId: string,
      call: CheckedCall,
    ) => Refusal | undefined | Promise<Refusal | undefined>,
    private readonly endedUnchecked: (rule: AuthzRule, code: number) => void,
    /** The Recorder's count of records still to come: the decision of a call checked later is one. */
    private readonly pending: PendingRecords,
  ) {
    super(inner);
    this.idFromRequest = rule.objectIdSource.startsWith("req.");
  }

  protected override receiveMetadata(metadata: Metadata): void {
    if (this.idFromRequest) {
      this.awaitingRequest = true;
      this.pending.add();
      this.metadataContext = new AsyncResource("grpc-audit.authz");
      this.passMetadata(metadata);
    } else {
      this.checked = true;
      this.check(readObjectId(this.rule, undefined, metadata), metadata, false);
    }
  }

  protected override receiveMessage(message: unknown): void {
    if (this.checked) {
      this.passMessage(message);
    } else {
      this.checked = true;
      const awaited = this.awaitingRequest;
      this.awaitingRequest = false;
      // grpc-js asks for the half-close only after this message is passed on, so the handler waits too.
      const objectId = readObjectId(this.rule, message, emptyMetadata);
      const captured = this.metadataContext;
      this.metadataContext = undefined;
      if (captured === undefined) this.check(objectId, message, true);
      else captured.runInAsyncScope(this.check, this, objectId, message, true);
      // After the check: it was recorded, or noted as pending itself.
      if (awaited) this.pending.done();
    }
  }

  /** Decides the call and then passes `event` on (or refuses the call), now or once the check answers. */
  private check(objectId: string, event: unknown, isMessage: boolean): void {
    let refusal: ReturnType<typeof this.decide>;
    try {
      refusal = this.decide(this.rule, objectId, this);
    } catch {
      this.refuse(UNAVAILABLE_REFUSAL); // a throwing toUser or authorizer: the engine's answer is unknown
      return;
    }
    if (refusal instanceof Promise) {
      this.hold();
      this.waiting = true;
      // The decision is recorded when the authorizer answers: the Recorder's close() waits for it.
      this.pending.add();
      refusal.then(
        (settled) => this.answered(settled, event, isMessage),
        () => this.answered(UNAVAILABLE_REFUSAL, event, isMessage),
      );
    } else {
      this.finish(refusal, event, isMessage);
    }
  }

  // grpc-js reports a client cancel or an expired deadline here (and the end of every call). A call
  // that ends so while its check waits never reaches its handler: the decision, once it comes, is the
  // call's only record, and carries the status the client got (not OK for an allowed one).
  override onCancel(): void {
    if (this.waiting && this.endedWith === undefined) {
      this.endedWith = cancelledCallStatus(currentAuditScope(), this.inner.getDeadline());
      // The request to the authorizer is cancelled now, not when `timeoutMs` passes: it held a socket
      // and a promise for a call nobody waits for. The decision is still recorded when it settles.
      this.checkController?.abort();
      this.checkController = undefined;
    } else if (this.awaitingRequest) {
      // Ended before its request message came: grpc-js sent its own status past the interceptors (a
      // message it could not decode, decompress or take), or the client cancelled, or the deadline passed.
      this.awaitingRequest = false;
      const { code } = cancelledCallStatus(currentAuditScope(), this.inner.getDeadline());
      this.inMetadataContext(() => this.endedUnchecked(this.rule, code));
      this.pending.done();
    }
    super.onCancel();
  }

  // grpc-js answers a unary or server-streaming call that half-closes without a request message
  // UNIMPLEMENTED itself, through the interceptors, without running the handler: never checked either.
  // It reads a client's reset as that half-close too: one at the deadline is the deadline expiring.
  // A half-close held while authn checked, behind a message grpc-js refused with its own status, is
  // answered so too, after the call ended: the client got that own status.
  override sendStatus(status: OutboundStatus): void {
    if (this.awaitingRequest) {
      this.awaitingRequest = false;
      const own = ownStatusOf(currentAuditScope());
      const atDeadline = isAtDeadline(currentAuditScope(), this.inner.getDeadline());
      const code = own?.code ?? (atDeadline ? Status.DEADLINE_EXCEEDED : status.code);
      this.inMetadataContext(() => this.endedUnchecked(this.rule, code));
      this.pending.done();
    }
    this.inner.sendStatus(status);
  }

  /** Runs a report in the context the metadata passed in, as the check at the message is. */
  private inMetadataContext(fn: () => void): void {
    const captured = this.metadataContext;
    this.metadataContext = undefined;
    if (captured === undefined) fn();
    else captured.runInAsyncScope(fn);
  }

  abortOnEnd(controller: AbortController): void {
    if (this.endedWith !== undefined) controller.abort();
    else this.checkController = controller;
  }

  /** Ends the wait for the authorizer, whose decision was recorded. */
  private answered(refusal: Refusal | undefined, event: unknown, isMessage: boolean): void {
    try {
      this.finish(refusal, event, isMessage);
    } finally {
      // After the event passed on: the rules interceptor has noted the call's own event by then.
      this.pending.done();
    }
  }

  private finish(refusal: Refusal | undefined, event: unknown, isMessage: boolean): void {
    this.waiting = false;
    this.checkController = undefined;
    if (refusal !== undefined) this.refuse(refusal);
    else if (isMessage) this.passMessage(event);
    else this.passMetadata(event as Metadata);
  }
}

/** The object id of a call; "" (unresolved) when a hand-written reader throws (generated ones never do). */
function readObjectId(rule: AuthzRule, message: unknown, metadata: Pick<Metadata, "get">): string {
  try {
    return rule.objectId(message, metadata as Metadata);
  } catch {
    return "";
  }
}

/**
 * A call decided by its method alone: without an authz rule (NO_RULE, refused with PERMISSION_DENIED or
 * let through when `missingRule` is "allow"), or with a rule that does not fit it. Reported once its
 * metadata arrives (inside the audit scope), then refused or let through.
 */
export class DecidedCall extends GatedCall {
  constructor(
    inner: ServerInterceptingCallInterface,
    private readonly input: AuthzDecisionInput,
    private readonly refusal: Refusal | undefined,
    private readonly report: (input: AuthzDecisionInput) => void,
  ) {
    super(inner);
  }

  protected override receiveMetadata(metadata: Metadata): void {
    this.report(this.input);
    if (this.refusal === undefined) this.passMetadata(metadata);
    else this.refuse(this.refusal);
  }
}

const emptyMetadata = { get: () => [] };
