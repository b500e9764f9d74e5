// A Kafka broker over a fake producer at the client boundary, answering as `@platformatic/kafka`
// reports it (a ResponseError holding Kafka's code): what a publish that fails part way leaves stored.
import { ResponseError, type SendOptions } from "@platformatic/kafka";
import { createKafkaBroker } from "../../src/kafka/index.js";

type Send = SendOptions<Buffer, Buffer, Buffer, Buffer>;

/** The topic's max.message.bytes. */
const TOPIC_LIMIT = 4096;

function recordBytes(message: Send["messages"][number]): number {
  let bytes = (message.key?.length ?? 0) + (message.value?.length ?? 0);
  for (const [k, v] of (message.headers ?? new Map()) as Map<Buffer, Buffer>) bytes += k.length + v.length;
  return bytes;
}

/**
 * A Kafka broker whose producer refuses as too large a request holding a message over TOPIC_LIMIT, and
 * as not authorized (TOPIC_AUTHORIZATION_FAILED) each send `refuses` picks by its number (from 1).
 * `stored` lists the event ids (message keys) the topic holds, in order.
 */
export function refusingKafka(
  options: { maxRequestBytes?: number; refuses?: (send: number) => boolean } = {},
) {
  const stored: string[] = [];
  let sends = 0;
  const broker = createKafkaBroker({
    bootstrapBrokers: ["kafka-1:9092"],
    clientId: "projects-api",
    ...(options.maxRequestBytes === undefined
      ? {}
      : { maxMessageBytes: options.maxRequestBytes, maxRequestBytes: options.maxRequestBytes }),
    createProducer: () => ({
      send: async (send: Send) => {
        sends++;
        if (options.refuses?.(sends) === true)
          throw new ResponseError(0, 9, { "/topics/0/partitions/0": [29, null] }, {});
        if (send.messages.some((m) => recordBytes(m) > TOPIC_LIMIT))
          throw new ResponseError(0, 9, { "/topics/0/partitions/0": [10, null] }, {});
        stored.push(...send.messages.map((m) => m.key?.toString() ?? ""));
        return {};
      },
      close: async () => {},
    }),
  });
  return { broker, stored };
}
