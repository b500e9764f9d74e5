/**
 * After Kafka refused a request as too large, the adapter sends its messages one at a time; a
 * failure of one of those sends (not a size refusal) is reported as every other failed send is: the
 * topic and how many of the publish's messages went before it. Uses a fake producer at the client
 * boundary that answers as `@platformatic/kafka` reports it (a ResponseError holding Kafka's code).
 */
import { ResponseError, type SendOptions } from "@platformatic/kafka";
import { expect, it } from "vitest";
import { AuditEmitError, AuditEventTooLargeError } from "../../src/errors/index.js";
import { createKafkaBroker } from "../../src/kafka/index.js";

type Send = SendOptions<Buffer, Buffer, Buffer, Buffer>;

it("names the topic and the messages sent when a one-at-a-time send fails", async () => {
  const stored: string[] = [];
  let sends = 0;
  const broker = createKafkaBroker({
    bootstrapBrokers: ["kafka-1:9092"],
    clientId: "projects-api",
    createProducer: () => ({
      send: async (send: Send) => {
        sends++;
        // The first request is refused as too large (code 10), the third (the second sent alone) as
        // not authorized (code 29).
        if (sends === 1) throw new ResponseError(0, 9, { "/topics/0/partitions/0": [10, null] }, {});
        if (sends === 3) throw new ResponseError(0, 9, { "/topics/0/partitions/0": [29, null] }, {});
        stored.push(...send.messages.map((m) => m.key?.toString() ?? ""));
        return {};
      },
      close: async () => {},
    }),
  });
  const message = (id: string) => ({
    key: id,
    value: Buffer.from(id),
    headers: { "grpc-audit-event-id": id },
  });
  const published = broker.publish("audit-events", [message("e-1"), message("e-2"), message("e-3")]);
  await expect(published).rejects.toThrow(
    'kafka: send to "audit-events" failed after 1 of 3 messages: TOPIC_AUTHORIZATION_FAILED',
  );
  await expect(published).rejects.toBeInstanceOf(AuditEmitError);
  await expect(published).rejects.not.toBeInstanceOf(AuditEventTooLargeError);
  expect(stored).toStrictEqual(["e-1"]);
  await broker.close();
});
