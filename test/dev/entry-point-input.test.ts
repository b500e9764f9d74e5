// Public functions and factories refuse an argument of the wrong type with the library's own error
// (AuditInputError for an argument, AuditConfigError for an option) naming it, never a bare TypeError
// from deep inside nor a quiet default result; and never echo a string that could be a secret.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  AuditConfigError,
  AuditInputError,
  canonicalBytes,
  chainHash,
  checkpointStatement,
  createRecorder,
  decodeEvent,
  encodeCanonical,
  eventFromJson,
  eventToJson,
  redactToJson,
  verifyChains,
  verifyPayloadDigest,
} from "../../src/index.js";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { instrumentAudit } from "../../src/otel/index.js";
import { openAuditStore } from "../../src/store/index.js";
import { createMemoryEmitter } from "../../src/testing/index.js";

const dir = mkdtempSync(join(tmpdir(), "entry-point-input-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shape = { typeName: "x.v1.M", fields: [] };
const payload = { keyId: "k", requestDigest: "", responseDigest: "", requestCount: 0, responseCount: 0 };

/** What `call` threw or rejected with. */
async function refusal(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("functions refuse an argument of the wrong type with an AuditInputError naming it", () => {
  it.each([
    [
      "canonicalBytes(undefined)",
      () => canonicalBytes(undefined as never),
      "canonicalBytes: `event` must be an AuditEvent, got undefined",
    ],
    [
      "canonicalBytes({})",
      () => canonicalBytes({} as never),
      "canonicalBytes: `event` is not a complete AuditEvent",
    ],
    ["chainHash(null)", () => chainHash(null as never), "chainHash: `event` must be an AuditEvent, got null"],
    ["chainHash({})", () => chainHash({} as never), "chainHash: `event` is not a complete AuditEvent"],
    ["eventToJson({})", () => eventToJson({} as never), "eventToJson: `event` is not a complete AuditEvent"],
    ["eventToJson([])", () => eventToJson([] as never), "eventToJson: `event` is not a complete AuditEvent"],
    [
      "checkpointStatement('c', undefined)",
      () => checkpointStatement("c", undefined as never),
      "checkpointStatement: `checkpoint` must be an object with headSeq, headHash and final, got undefined",
    ],
    [
      "eventFromJson(undefined)",
      () => eventFromJson(undefined),
      "eventFromJson: `json` must be an event's proto3 JSON object, got undefined",
    ],
    [
      "eventFromJson(null)",
      () => eventFromJson(null),
      "eventFromJson: `json` must be an event's proto3 JSON object, got null",
    ],
    [
      "eventFromJson(42)",
      () => eventFromJson(42),
      "eventFromJson: `json` must be an event's proto3 JSON object, got number",
    ],
    [
      "eventFromJson([])",
      () => eventFromJson([]),
      "eventFromJson: `json` must be an event's proto3 JSON object, got an array",
    ],
    [
      "eventFromJson('token-s3cr3t')",
      () => eventFromJson("token-s3cr3t"),
      "eventFromJson: `json` must be an event's proto3 JSON object, got string",
    ],
    [
      "eventFromJson({ duration: 'x' })",
      () => eventFromJson({ duration: "x" }),
      'duration must look like "1.5s", got a string of length 1',
    ],
    [
      "redactToJson(undefined, {})",
      () => redactToJson(undefined as never, {}),
      "redactToJson: `shape` must be a MessageShape (an object with a fields array), got undefined",
    ],
    [
      "encodeCanonical(null, {})",
      () => encodeCanonical(null as never, {}),
      "encodeCanonical: `shape` must be a MessageShape (an object with a fields array), got null",
    ],
    [
      "verifyPayloadDigest(undefined, …)",
      () => verifyPayloadDigest(undefined as never, "request", shape, [], {}),
      "verifyPayloadDigest: `payload` must be an event's payload, got undefined",
    ],
    [
      "verifyPayloadDigest(…, shape null, …)",
      () => verifyPayloadDigest(payload, "request", null as never, [], { k: new Uint8Array(32) }),
      "verifyPayloadDigest: `shape` must be a MessageShape (an object with a fields array), got null",
    ],
    [
      "verifyChains([null])",
      () => verifyChains([null as never]),
      "verifyChains: `event` must be an AuditEvent, got null",
    ],
    [
      "verifyChains([42])",
      () => verifyChains([42 as never]),
      "verifyChains: `event` must be an AuditEvent, got number",
    ],
  ])("%s", async (_call, call, message) => {
    const error = await refusal(call);
    expect(error).toBeInstanceOf(AuditInputError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain("s3cr3t");
  });

  it("decodeEvent of bytes that are not an event: an AuditInputError with the decoder's message and error", async () => {
    const error = (await refusal(() => decodeEvent(new Uint8Array([0xff, 0xff, 0xff, 0x01])))) as Error;
    expect(error).toBeInstanceOf(AuditInputError);
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.cause).not.toBeInstanceOf(AuditInputError);
    expect(error.message).toBe((error.cause as Error).message);
  });
});

describe("factories refuse an option of the wrong type with an AuditConfigError naming it", () => {
  const recorder = () => createRecorder({ service: "s", emitters: [createMemoryEmitter()] });
  it.each([
    [
      "instrumentAudit meterProvider: null",
      () => instrumentAudit({ recorder: recorder(), meterProvider: null as never }),
      "instrumentAudit: `meterProvider` must be an OpenTelemetry MeterProvider",
    ],
    [
      "createMemoryEmitter capacity: Symbol()",
      () => createMemoryEmitter({ capacity: Symbol("c") as never }),
      "memory emitter: capacity must be a positive integer, got symbol",
    ],
    [
      "openAuditStore checkpointDriver: 42",
      () => openAuditStore({ path: join(dir, "a.db"), checkpointDriver: 42 as never }),
      "audit store: `checkpointDriver` must be a module name",
    ],
    [
      "openAuditStore checkpointDriver: a function",
      () => openAuditStore({ path: join(dir, "b.db"), checkpointDriver: (() => "better-sqlite3") as never }),
      "audit store: `checkpointDriver` must be a module name",
    ],
    [
      "createKafkaBroker name: Symbol()",
      () =>
        createKafkaBroker({ bootstrapBrokers: ["127.0.0.1:9"], clientId: "c", name: Symbol("n") as never }),
      "kafka broker: name must be a non-empty string, got symbol",
    ],
    [
      "createNatsBroker name: ''",
      () => createNatsBroker({ servers: "127.0.0.1:9", name: "" }),
      'nats broker: name must be a non-empty string, got ""',
    ],
  ])("%s", async (_call, call, message) => {
    const error = await refusal(call);
    expect(error).toBeInstanceOf(AuditConfigError);
    expect((error as Error).message).toBe(message);
  });
});
