/**
 * A delivery emitter's flush() resolved ok once every event was "delivered or dropped": after the
 * sink refused an event for good (a NATS stream's max_msg_size), it said ok, though an ok says every
 * accepted event was written. It now reports "error" naming the drops by reason and count, and a
 * flush that runs out of time names them in its error too.
 */
import { ResponseError, type SendOptions } from "@platformatic/kafka";
import { expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { SAMPLE_IDS, sampleEvent } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";
import { readStream } from "../nats/stream-reader.js";
import { emitterWithOneTooLarge } from "./small-stream.js";

const nc = useNatsServer();

it("reports an error naming the drop when the stream refused an event as too large", async () => {
  const emitter = await emitterWithOneTooLarge(nc(), "FLUSH_SMALL", "flush");

  const report = await emitter.flush();

  expect(report).toStrictEqual({
    ok: false,
    results: [
      {
        emitter: "nats:flush.events",
        status: "error",
        error: new AuditEmitError("nats:flush.events", "flush dropped 1 event (too_large 1)"),
        pending: 0,
      },
    ],
    pending: 0,
  });
  const stored = await readStream(nc(), "FLUSH_SMALL");
  expect(stored.map((m) => m.headers["Nats-Msg-Id"])).toStrictEqual([SAMPLE_IDS.authn, SAMPLE_IDS.authz]);
  // The drop is the flush's news: the close after it drops nothing.
  expect(await emitter.close()).toMatchObject({ ok: true, dropped: 0 });
});

it("names the drop when it then ran out of time", async () => {
  type Send = SendOptions<Buffer, Buffer, Buffer, Buffer>;
  // A fake producer at the client boundary: refuses e-2 as too large (as `@platformatic/kafka`
  // reports it), stores e-1, and never answers the send of e-3.
  const stored: string[] = [];
  const broker = createKafkaBroker({
    bootstrapBrokers: ["kafka-1:9092"],
    clientId: "projects-api",
    createProducer: () => ({
      send: async (send: Send) => {
        const keys = send.messages.map((m) => m.key?.toString() ?? "");
        if (keys.includes("e-3")) await new Promise(() => {});
        if (keys.includes("e-2")) throw new ResponseError(0, 9, { "/topics/0/partitions/0": [10, null] }, {});
        stored.push(...keys);
        return {};
      },
      close: async () => {},
    }),
  });
  // One event a batch: e-2's refusal is counted while e-3's write still waits.
  const emitter = createBrokerEmitter({ broker, topic: "audit", delivery: { maxBatchEvents: 1 } });
  for (const eventId of ["e-1", "e-2", "e-3"]) emitter.emit(sampleEvent({ kind: "authn", eventId }));

  const report = await emitter.flush({ timeoutMs: 300 });

  const message = "flush did not finish within 300 ms; it dropped 1 event (too_large 1)";
  expect(report).toStrictEqual({
    ok: false,
    results: [
      {
        emitter: "kafka:audit",
        status: "timeout",
        error: new AuditEmitError("kafka:audit", message),
        pending: 1,
      },
    ],
    pending: 1,
  });
  expect(stored).toStrictEqual(["e-1"]);
  await emitter.close({ timeoutMs: 0 });
});
