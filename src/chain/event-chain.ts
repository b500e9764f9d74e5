import { randomUUID } from "node:crypto";
import { type OutOfCallStamp, outOfCallEvent } from "../event/builders.js";
import { type AuditEvent, EventType } from "../gen/grpcaudit/v1/event.js";
import { chainHash } from "./canonical.js";
import type { ResolvedChainOptions } from "./chain-options.js";
import { checkpointEventHash, signCheckpoint } from "./checkpoint.js";

/** What a checkpoint event takes from its Recorder: who writes it, its id and time. */
export type CheckpointStamp = OutOfCallStamp;

/**
 * The chain of one Recorder: links each event it is given to the one before (`chain` with id, seq,
 * prevHash, hash) and builds signed checkpoints over its head. Synchronous, so seq order is the order
 * events are linked in. Once a final checkpoint is linked the chain is sealed: later events are left
 * unlinked (the Recorder is closing and its emitters drop them).
 * @internal
 */
export class EventChain {
  /** Random id of this chain (a UUID). */
  readonly chainId: string = randomUUID();
  private seq = 0;
  private head = "";
  private sinceCheckpoint = 0;
  private sealed = false;
  private readonly options: ResolvedChainOptions;

  constructor(options: ResolvedChainOptions) {
    this.options = options;
  }

  /** True when it signs checkpoints (a signing key was given). */
  get signs(): boolean {
    return this.options.signer !== undefined && !this.sealed;
  }

  /** Events linked since the last checkpoint. */
  get unsealed(): number {
    return this.sinceCheckpoint;
  }

  /** True when `checkpointEvery` events were linked since the last checkpoint. */
  get checkpointDue(): boolean {
    return this.signs && this.sinceCheckpoint >= this.options.checkpointEvery;
  }

  /**
   * Sets the event's `chain` and makes it the head. Throws only when the event cannot be encoded;
   * the chain is then unchanged, so the event must not be emitted.
   */
  link(event: AuditEvent): void {
    if (this.sealed) return;
    const chain = { chainId: this.chainId, seq: this.seq + 1, prevHash: this.head, hash: "" };
    event.chain = chain;
    const { signer } = this.options;
    if (event.detail?.$case === "checkpoint" && event.detail.value.signature === "" && signer !== undefined) {
      // Signed once linked: the v2 statement covers the whole event, its place in the chain too.
      const { value } = event.detail;
      value.signature = signCheckpoint(signer.privateKey, this.chainId, value, checkpointEventHash(event));
    }
    chain.hash = chainHash(event);
    this.seq = chain.seq;
    this.head = chain.hash;
    if (event.detail?.$case !== "checkpoint") this.sinceCheckpoint++;
    else {
      this.sinceCheckpoint = 0;
      this.sealed = event.detail.value.final;
    }
  }

  /** The final checkpoint was not written (an emitter dropped it): the chain takes another. */
  reopen(): void {
    this.sealed = false;
  }

  /**
   * A checkpoint event over the current head, `final` for the last one, on close; `link` signs it.
   * Link it next (nothing may be linked in between, or its head is no longer the one before it).
   */
  checkpoint(stamp: CheckpointStamp, final: boolean): AuditEvent {
    const { signer } = this.options;
    if (signer === undefined) throw new Error("this chain has no signing key");
    return outOfCallEvent(stamp, EventType.EVENT_TYPE_CHAIN_CHECKPOINT, {
      $case: "checkpoint",
      value: { headSeq: this.seq, headHash: this.head, final, keyId: signer.keyId, signature: "" },
    });
  }
}
