import { describe, expect, it } from "vitest";
import { encodeCanonical, type PayloadProblems } from "../../src/payload/index.js";
import { Kind, PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import {
  CANARY,
  clearSensitive,
  PROTO_LOADER_VARIANTS,
  protoLoaderDecoder,
  putSecretRequest,
} from "./messages.js";
import { PutSecretRequestShape } from "./shapes.js";

/** putSecretRequest() without its map fields, whose entry order ts-proto does not sort. */
function withoutMaps(message: PutSecretRequest): PutSecretRequest {
  return { ...message, labels: {}, env: {}, byHost: {} };
}

const problems = (): PayloadProblems => ({ count: 0, first: [] });

describe("encodeCanonical", () => {
  it("equals ts-proto's encoding of the message with its sensitive fields cleared (no maps)", () => {
    const sources: PutSecretRequest["source"][] = [
      { $case: "inlineText", value: CANARY },
      { $case: "vaultPath", value: "kv/db" },
      {
        $case: "generated",
        value: { username: "g", password: CANARY, recoveryCodes: [], kind: Kind.KIND_API_KEY },
      },
      undefined,
    ];
    for (const source of sources) {
      const message = withoutMaps({ ...putSecretRequest(), source });
      const found = problems();
      const canonical = encodeCanonical(PutSecretRequestShape, message, found);
      expect(Buffer.from(canonical)).toEqual(
        Buffer.from(PutSecretRequest.encode(clearSensitive(message)).finish()),
      );
      expect(Buffer.from(canonical).includes(CANARY)).toBe(false);
      expect(found.count).toBe(0);
    }
  });

  it("writes repeated strings and bytes one record per element, as ts-proto's encode does", () => {
    const message = PutSecretRequest.fromPartial({
      aliases: ["db", ""],
      chunks: [Buffer.from([0, 1]), Buffer.alloc(0)],
    });
    const canonical = Buffer.from(encodeCanonical(PutSecretRequestShape, message));
    // aliases (26): "db", ""; chunks (27): 00 01, empty. Never one packed record per list.
    expect(canonical.toString("hex")).toBe("d201026462d20100da01020001da0100");
    expect(canonical).toEqual(Buffer.from(PutSecretRequest.encode(message).finish()));
  });

  it.each(Object.entries(PROTO_LOADER_VARIANTS))(
    "gives the same bytes for the proto-loader object of the same message (%s)",
    (_, options) => {
      const message = putSecretRequest();
      const decoded = protoLoaderDecoder(options)(PutSecretRequest.encode(message).finish());
      expect(Buffer.from(encodeCanonical(PutSecretRequestShape, decoded))).toEqual(
        Buffer.from(encodeCanonical(PutSecretRequestShape, message)),
      );
    },
  );

  it("writes map entries sorted by key (UTF-8 byte order), whatever the insertion order", () => {
    const keys = ["z", "\u{1F600}", "\uFF5E", "A", "é"];
    const forward = Object.fromEntries(keys.map((key, i) => [key, String(i)]));
    const backward = Object.fromEntries(keys.toReversed().map((key) => [key, forward[key]]));
    const bytes = encodeCanonical(PutSecretRequestShape, { labels: forward });
    expect(Buffer.from(encodeCanonical(PutSecretRequestShape, { labels: backward }))).toEqual(
      Buffer.from(bytes),
    );
    // ts-proto decodes entries in wire order: the order the canonical encoding wrote them in.
    expect(Object.keys(PutSecretRequest.decode(bytes).labels)).toEqual([
      "A",
      "z",
      "é",
      "\uFF5E",
      "\u{1F600}",
    ]);
  });

  it("writes each map entry's key and value, also at their defaults, and redacts map values", () => {
    const bytes = encodeCanonical(PutSecretRequestShape, {
      labels: { "": "" },
      byHost: { h: { username: "", password: CANARY } },
    });
    // labels (5): entry {key "" (0a 00), value "" (12 00)}; by_host (7): {key "h", value Credential {}}.
    expect(Buffer.from(bytes).toString("hex")).toBe("2a040a0012003a050a01681200");
  });

  it("is unchanged by sensitive fields and changed by any other field", () => {
    const base = encodeCanonical(PutSecretRequestShape, putSecretRequest());
    const otherSecrets = {
      ...putSecretRequest(),
      value: "other",
      env: { OTHER: "x" },
      source: { $case: "inlineText", value: "other" },
      blob: Buffer.from("other"),
    };
    expect(Buffer.from(encodeCanonical(PutSecretRequestShape, otherSecrets))).toEqual(Buffer.from(base));
    for (const change of [
      { name: "other" },
      { labels: { team: "edge" } },
      { comment: undefined },
      { weight: 2 },
    ]) {
      const changed = encodeCanonical(PutSecretRequestShape, { ...putSecretRequest(), ...change });
      expect(Buffer.from(changed)).not.toEqual(Buffer.from(base));
    }
  });

  it("never throws on odd messages and encodes what it could read", () => {
    for (const odd of [null, "x", 3, [1], Buffer.from("x")]) {
      expect(encodeCanonical(PutSecretRequestShape, odd)).toEqual(new Uint8Array());
    }
    const found = problems();
    const bytes = encodeCanonical(PutSecretRequestShape, { name: "n", version: {}, ports: [1, null] }, found);
    expect(Buffer.from(bytes)).toEqual(
      Buffer.from(PutSecretRequest.encode(PutSecretRequest.fromPartial({ name: "n", ports: [1] })).finish()),
    );
    expect(found.count).toBe(2);
  });
});
