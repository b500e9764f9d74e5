import type { Metadata } from "@grpc/grpc-js";
import { ForwardingCall, type OutboundStatus } from "./forwarding-call.js";

/**
 * A `ForwardingCall` for interceptors that may have to wait before letting an inbound event through
 * (authn and authz, while a check that is not cached runs). While it holds, later inbound events wait
 * in order; a cancel goes through at once and drops them, and nothing inbound passes after it or after
 * the call was refused. One object per call, like `ForwardingCall`: a check answered synchronously
 * (a cached token or decision) costs no queue and no closure.
 *
 * Subclasses override `receiveMetadata` / `receiveMessage` (reached only when not holding and not
 * stopped) and either pass the event on at once (`passMetadata` / `passMessage`), or `hold()` and later
 * pass it or `refuse(status)`.
 */
export abstract class GatedCall extends ForwardingCall {
  /** Inbound events that arrived while holding, in order; undefined while not holding. */
  private held: (() => void)[] | undefined;
  /** Set by a cancel or a refusal: no inbound event passes any more. */
  private stopped = false;

  /** Holds every later inbound event but a cancel until the checked event is passed on or refused. */
  protected hold(): void {
    this.held ??= [];
  }

  /** Passes the checked metadata on and ends holding: the events held meanwhile follow, in order. */
  protected passMetadata(metadata: Metadata): void {
    if (this.stopped) return;
    const held = this.takeHeld();
    this.listener.onReceiveMetadata(metadata);
    this.deliver(held);
  }

  /** Passes the checked message on and ends holding: the events held meanwhile follow, in order. */
  protected passMessage(message: unknown): void {
    if (this.stopped) return;
    const held = this.takeHeld();
    this.listener.onReceiveMessage(message);
    this.deliver(held);
  }

  private takeHeld(): (() => void)[] | undefined {
    const held = this.held;
    this.held = undefined;
    return held;
  }

  private deliver(held: (() => void)[] | undefined): void {
    if (held === undefined) return;
    for (let i = 0; i < held.length; i++) {
      // A held event may start a new hold (authz on the message that follows authorized metadata).
      const holdingAgain = this.held as (() => void)[] | undefined;
      if (holdingAgain !== undefined) {
        holdingAgain.push(...held.slice(i));
        return;
      }
      (held[i] as () => void)();
    }
  }

  /** Ends the call with `status`; inbound events that arrive later are dropped. */
  protected refuse(status: Omit<OutboundStatus, "metadata">): void {
    this.held = undefined;
    if (this.stopped) return;
    this.stopped = true;
    this.inner.sendStatus({ ...status, metadata: null });
  }

  protected receiveMetadata(metadata: Metadata): void {
    this.passMetadata(metadata);
  }

  protected receiveMessage(message: unknown): void {
    this.passMessage(message);
  }

  override onReceiveMetadata(metadata: Metadata): void {
    if (this.stopped) return;
    if (this.held !== undefined) this.held.push(() => this.onReceiveMetadata(metadata));
    else this.receiveMetadata(metadata);
  }

  override onReceiveMessage(message: unknown): void {
    if (this.stopped) return;
    if (this.held !== undefined) this.held.push(() => this.onReceiveMessage(message));
    else this.receiveMessage(message);
  }

  override onReceiveHalfClose(): void {
    if (this.stopped) return;
    if (this.held !== undefined) this.held.push(() => this.onReceiveHalfClose());
    else this.listener.onReceiveHalfClose();
  }

  override onCancel(): void {
    this.held = undefined;
    this.stopped = true;
    this.listener.onCancel();
  }
}
