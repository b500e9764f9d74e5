/**
 * The stream the NATS source keeps its dead letters in, against a real nats-server: made when
 * missing; one that exists, perhaps made by an operator for the dead letters of several
 * applications, is left as it is, and refused only when it does not capture the source's subject.
 */
import { DiscardPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { ensureDeadLetterStream } from "../../src/nats/nats-dead-letter.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

describe("ensureDeadLetterStream", () => {
  it("makes a missing stream as ensureAuditStream would: discard new, no limit", async () => {
    const jsm = await jetstreamManager(nc());
    await ensureDeadLetterStream(jsm, "AUDIT_DEAD_LETTER", "grpc-audit.dead-letter.AUDIT");

    expect((await jsm.streams.info("AUDIT_DEAD_LETTER")).config).toMatchObject({
      subjects: ["grpc-audit.dead-letter.AUDIT"],
      retention: "limits",
      discard: "new",
      max_bytes: -1,
      max_age: 0,
    });
  });

  it("leaves an existing stream's subjects and limits alone, so other applications still publish to it", async () => {
    const jsm = await jetstreamManager(nc());
    const made = await jsm.streams.add({
      name: "DLQ",
      subjects: ["dlq.>"],
      max_age: nanos(7 * 86_400_000),
      max_bytes: 1e9,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(60_000),
    });

    await ensureDeadLetterStream(jsm, "DLQ", "dlq.audit");
    const ack = await jetstream(nc()).publish("dlq.orders", new Uint8Array([1]));

    expect((await jsm.streams.info("DLQ")).config).toStrictEqual(made.config);
    expect(ack.stream).toBe("DLQ");
  });

  it("refuses an existing stream that does not capture the dead-letter subject, and leaves it alone", async () => {
    const jsm = await jetstreamManager(nc());
    const made = await jsm.streams.add({ name: "ORDERS_DLQ", subjects: ["orders.dlq"] });

    const ensuring = ensureDeadLetterStream(jsm, "ORDERS_DLQ", "grpc-audit.dead-letter.AUDIT");
    await expect(ensuring).rejects.toThrow(AuditConfigError);
    await expect(ensuring).rejects.toThrow(
      'nats source: dead-letter stream "ORDERS_DLQ" does not capture "grpc-audit.dead-letter.AUDIT" (its ' +
        'subjects: ["orders.dlq"]): add that subject to it, or name another stream or subject ' +
        "(deadLetterStream, deadLetterSubject)",
    );
    expect((await jsm.streams.info("ORDERS_DLQ")).config).toStrictEqual(made.config);
  });
});
