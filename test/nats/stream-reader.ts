/** Reads every message a JetStream stream holds, through an ordered consumer, for assertions. */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

export interface StoredMessage {
  seq: number;
  subject: string;
  data: Uint8Array;
  headers: Record<string, string>;
}

/** Every message of `stream`, in stream order; fails if fewer arrive than the stream reports. */
export async function readStream(nc: NatsConnection, stream: string): Promise<StoredMessage[]> {
  const jsm = await jetstreamManager(nc);
  const total = (await jsm.streams.info(stream)).state.messages;
  const consumer = await jetstream(nc).consumers.get(stream);
  const messages: StoredMessage[] = [];
  while (messages.length < total) {
    const batch = await consumer.fetch({
      max_messages: Math.min(2000, total - messages.length),
      expires: 5000,
    });
    const before = messages.length;
    for await (const m of batch) {
      const headers: Record<string, string> = {};
      for (const [key, values] of m.headers ?? []) headers[key] = values.join(",");
      messages.push({ seq: m.seq, subject: m.subject, data: m.data, headers });
    }
    if (messages.length === before) throw new Error(`stream ${stream}: read ${before} of ${total} messages`);
  }
  await consumer.delete();
  return messages;
}
