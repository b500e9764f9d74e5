import type { EncodedEvent } from "../emitters/sink.js";
import { decodeEvent } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";

/**
 * An EncodedEvent whose `event` is decoded on first access and kept, so a sink that only sends the
 * bytes never pays for decoding.
 * @internal
 */
export class LazyEncodedEvent implements EncodedEvent {
  readonly bytes: Uint8Array;
  #event: AuditEvent | undefined;

  constructor(bytes: Uint8Array, event?: AuditEvent) {
    this.bytes = bytes;
    this.#event = event;
  }

  get event(): AuditEvent {
    this.#event ??= decodeEvent(this.bytes);
    return this.#event;
  }
}
