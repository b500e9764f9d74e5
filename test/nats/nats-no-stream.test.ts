// A subject no stream captures (a typo, a stream not made yet): JetStream answers as if it were off,
// and the broker's error leads with the likely cause, the stream, and keeps JetStream as the other.
import { describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createNatsBroker, ensureAuditStream } from "../../src/nats/index.js";
import { sampleEvent } from "../helpers/events.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

describe("publishing to a subject no stream captures", () => {
  it.each([
    ["without", undefined],
    ["with", "AUDIT"],
  ])("names the missing stream first, %s the stream option", async (_, stream) => {
    await ensureAuditStream(nc(), { name: "AUDIT", subjects: ["audit.>"] });
    const broker = await createNatsBroker({ connection: nc(), ...(stream === undefined ? {} : { stream }) });
    const writing = createBrokerSink({ broker, topic: "audti.p" }).write([sampleEvent()]);
    await expect(writing).rejects.toThrow(
      new AuditEmitError(
        "nats",
        'publish to "audti.p" failed after 0 of 1 acknowledgements: no stream captures "audti.p" (see ' +
          "ensureAuditStream), or JetStream is not enabled on the server (the client says: jetstream is " +
          "not enabled)",
      ),
    );
    await broker.close();
  });
});
