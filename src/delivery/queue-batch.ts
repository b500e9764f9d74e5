import type { QueueBatch } from "./batches.js";
import { LazyEncodedEvent } from "./event-bytes.js";
import type { EventQueue } from "./event-queue.js";

/**
 * Takes the next batch off the queue's head: at most `maxEvents` events and `maxBytes` bytes (the
 * first event always), stopping before an event numbered `beforeSeq` or later.
 *
 * The queue reuses its storage, so the batch gets its own copy of the bytes: one buffer for the whole
 * batch, which every event of it views. The bytes stay as they are while the batch is written,
 * retried or spooled, and no event is decoded unless the sink asks for it.
 * @internal
 */
export function takeQueueBatch(
  queue: Pick<EventQueue, "peekSize" | "peekSeq" | "shift">,
  maxEvents: number,
  maxBytes: number,
  beforeSeq: number,
): QueueBatch {
  const seqs: number[] = [];
  const kinds: number[] = [];
  const views: Uint8Array[] = [];
  let bytes = 0;
  for (let size = queue.peekSize(); size !== undefined; size = queue.peekSize()) {
    if (seqs.length === maxEvents) break;
    if (seqs.length > 0 && bytes + size > maxBytes) break;
    if ((queue.peekSeq() ?? 0) >= beforeSeq) break;
    const event = queue.shift();
    if (event === undefined) break;
    seqs.push(event.seq);
    kinds.push(event.kind);
    // A view into the queue's storage: valid until the next push, so copied below before returning.
    views.push(event.bytes);
    bytes += size;
  }
  const storage = new Uint8Array(bytes);
  const events: LazyEncodedEvent[] = [];
  let offset = 0;
  for (const view of views) {
    storage.set(view, offset);
    events.push(new LazyEncodedEvent(storage.subarray(offset, offset + view.length)));
    offset += view.length;
  }
  return { source: "queue", seqs, kinds, events, bytes };
}
