import { describe, expect, it } from "vitest";
import { AuditInputError } from "../../src/errors/index.js";
import { PayloadCapture } from "../../src/gen/grpcaudit/v1/event.js";
import { fixedRecorder } from "../helpers/recorder.js";

const DIGEST = "ab".repeat(32);
const mutation = { mutation: "update", resourceType: "secret", resourceId: "s-1" } as const;

describe("the payload of a record input", () => {
  it("becomes the event's payload; absent strings empty, counts 0", async () => {
    const { recorder, memory } = fixedRecorder();
    await recorder.recordResourceMutation({
      ...mutation,
      payload: { capture: "digest", keyId: "k1", requestDigest: DIGEST, requestCount: 3 },
    });
    await recorder.recordResourceAccess({ resourceType: "secret", resourceId: "s-1" });
    expect(memory.events.map((event) => event.payload)).toStrictEqual([
      {
        capture: PayloadCapture.PAYLOAD_CAPTURE_DIGEST,
        keyId: "k1",
        requestDigest: DIGEST,
        responseDigest: "",
        requestCount: 3,
        responseCount: 0,
        requestJson: "",
        responseJson: "",
      },
      undefined,
    ]);
  });

  it("cuts the JSON to 2048 UTF-8 bytes on a character boundary, marking the cut, and the key id to 256", async () => {
    const { recorder, memory } = fixedRecorder();
    const json = JSON.stringify({ name: "é".repeat(1500) }); // 3011 bytes
    await recorder.recordResourceAccess({
      resourceType: "secret",
      resourceId: "s-1",
      payload: { capture: "redacted", keyId: "k".repeat(300), requestJson: json, responseJson: "{}" },
    });
    const kept = `{"name":"${"é".repeat(1019)}`; // 9 + 2038 bytes: one more é would pass 2048
    expect(memory.events[0]?.payload).toStrictEqual({
      capture: PayloadCapture.PAYLOAD_CAPTURE_REDACTED,
      keyId: `${"k".repeat(256)}…[truncated 44 bytes]`,
      requestDigest: "",
      responseDigest: "",
      requestCount: 0,
      responseCount: 0,
      requestJson: `${kept}…[truncated ${3011 - Buffer.byteLength(kept)} bytes]`,
      responseJson: "{}",
    });
  });

  it.each([
    [{ capture: "all" }, "payload.capture must be one of none, digest, redacted, got a string of length 3"],
    [
      { capture: "digest", requestDigest: "AB".repeat(32) },
      "payload.requestDigest must be 64 lowercase hex digits or empty, got a string of length 64",
    ],
    [
      { capture: "digest", responseCount: -1 },
      "payload.responseCount must be an integer from 0 to 4294967295, got number",
    ],
    [{ capture: "redacted", requestJson: {} }, "payload.requestJson must be a string, got object"],
    ["digest", "payload must be an object, got a string of length 6"],
  ])("refuses a bad payload %o, naming the field", async (payload, problem) => {
    const { recorder, memory, errors } = fixedRecorder();
    await recorder.recordResourceMutation({ ...mutation, payload } as never);
    expect(memory.events).toStrictEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AuditInputError);
    expect(errors[0]?.message).toContain(problem);
  });
});
