/**
 * A fake Broker for broker sink and emitter tests: records every publish call, acknowledges at once by
 * default, and can be told to fail or to hold publishes until released. Like the Kafka and NATS
 * adapters, it refuses a whole publish when a message is over `maxMessageBytes`, which a test may
 * change (a NATS server that came back with a smaller max_payload).
 */
import type { Broker, BrokerMessage } from "../../src/brokers/broker.js";

export interface PublishCall {
  topic: string;
  messages: readonly BrokerMessage[];
  signal: AbortSignal | undefined;
}

export interface FakeBroker extends Broker {
  /** Every publish call, in order, also the failed ones. */
  readonly calls: PublishCall[];
  /** Messages of the publishes that were acknowledged. */
  readonly acked: BrokerMessage[];
  /** The error the next publishes reject with; undefined to acknowledge them. */
  failWith: Error | undefined;
  closed: number;
  maxMessageBytes?: number;
}

/** Key, value and headers: what a broker checks against its message limit. */
export function messageBytes(message: BrokerMessage): number {
  let bytes = message.value.byteLength + Buffer.byteLength(message.key);
  for (const [name, value] of Object.entries(message.headers))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

export function fakeBroker(
  options: { name?: string; maxMessageBytes?: number; cloudEventsHeaderPrefix?: "ce_" | "ce-" } = {},
): FakeBroker {
  const calls: PublishCall[] = [];
  const acked: BrokerMessage[] = [];
  const broker: FakeBroker = {
    name: options.name ?? "fake",
    calls,
    acked,
    failWith: undefined,
    closed: 0,
    async publish(topic, messages, publishOptions) {
      calls.push({ topic, messages, signal: publishOptions?.signal });
      if (broker.failWith !== undefined) throw broker.failWith;
      const limit = broker.maxMessageBytes;
      const over = messages.find((message) => limit !== undefined && messageBytes(message) > limit);
      if (over !== undefined) throw new Error(`message ${over.key} is over maxMessageBytes (${limit})`);
      acked.push(...messages);
    },
    async close() {
      broker.closed++;
    },
  };
  if (options.maxMessageBytes !== undefined) broker.maxMessageBytes = options.maxMessageBytes;
  if (options.cloudEventsHeaderPrefix !== undefined)
    Object.assign(broker, { cloudEventsHeaderPrefix: options.cloudEventsHeaderPrefix });
  return broker;
}
