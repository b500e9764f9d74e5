import { MultipleErrors, NetworkError, ProtocolError, ResponseError } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { kafkaErrorText, refusedProducerState } from "../../src/kafka/kafka-error-text.js";

const PASSWORD = "s3cret-kafka-password";

describe("kafkaErrorText", () => {
  it("names Kafka's error codes under the client's nested errors, each once", () => {
    const refused = (code: number) => new ResponseError(0, 7, { "/topics/0": [code, null] }, {});
    const error = new MultipleErrors("Producing messages failed.", [
      new MultipleErrors("produce failed 4 times.", [refused(19), refused(19), refused(7), refused(19)]),
    ]);
    expect(kafkaErrorText(error)).toBe("NOT_ENOUGH_REPLICAS; REQUEST_TIMED_OUT");
  });

  it("gives a cause after its error, and reads no field but messages and code names", () => {
    const sasl = new ProtocolError(58, "Authentication failed: Invalid username or password", {
      options: { sasl: { mechanism: "PLAIN", username: "audit", password: PASSWORD } },
    });
    const error = new NetworkError("Connection to kafka-1:9093 failed.", {
      cause: new MultipleErrors("SASL authentication failed.", [sasl]),
      request: { authBytes: Buffer.from(`\0audit\0${PASSWORD}`) },
    });
    expect(kafkaErrorText(error)).toBe("Connection to kafka-1:9093 failed (SASL_AUTHENTICATION_FAILED)");
    expect(kafkaErrorText("not an error")).toBe("not an error");
  });
});

describe("refusedProducerState", () => {
  it("finds a refused producer sequence or id at any depth, and nothing else", () => {
    const refused = (code: number) =>
      new MultipleErrors("Producing messages failed.", [new ResponseError(0, 7, { "/": [code, null] }, {})]);
    expect(refusedProducerState(refused(45))).toBe(true); // OUT_OF_ORDER_SEQUENCE_NUMBER
    expect(refusedProducerState(refused(59))).toBe(true); // UNKNOWN_PRODUCER_ID
    expect(refusedProducerState(refused(19))).toBe(false); // NOT_ENOUGH_REPLICAS
    expect(refusedProducerState(new Error("Request timed out"))).toBe(false);
  });
});
