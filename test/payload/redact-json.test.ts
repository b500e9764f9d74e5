import { describe, expect, it } from "vitest";
import { type PayloadProblems, redactToJson } from "../../src/payload/index.js";
import { PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import {
  CANARY,
  PROTO_LOADER_VARIANTS,
  PUT_SECRET_REQUEST_JSON,
  protoLoaderDecoder,
  putSecretRequest,
} from "./messages.js";
import { PutSecretRequestShape, SecretShape } from "./shapes.js";

const problems = (): PayloadProblems => ({ count: 0, first: [] });

describe("redactToJson", () => {
  it("writes a ts-proto message as proto3 JSON without any sensitive field", () => {
    const found = problems();
    const json = redactToJson(PutSecretRequestShape, putSecretRequest(), found);
    expect(json).toEqual(PUT_SECRET_REQUEST_JSON);
    expect(JSON.stringify(json)).not.toContain(CANARY);
    expect(found).toEqual({ count: 0, first: [] });
  });

  it.each(Object.entries(PROTO_LOADER_VARIANTS))(
    "writes the same JSON for the proto-loader object (%s)",
    (_, options) => {
      const decoded = protoLoaderDecoder(options)(PutSecretRequest.encode(putSecretRequest()).finish());
      const found = problems();
      expect(redactToJson(PutSecretRequestShape, decoded, found)).toEqual(PUT_SECRET_REQUEST_JSON);
      expect(found.count).toBe(0);
    },
  );

  it("keeps a non-sensitive oneof member and redacts inside a message member", () => {
    const byPath = { ...putSecretRequest(), source: { $case: "vaultPath", value: "kv/db" } };
    expect(redactToJson(PutSecretRequestShape, byPath)).toMatchObject({ vaultPath: "kv/db" });
    const generated = {
      ...putSecretRequest(),
      source: {
        $case: "generated",
        value: { username: "gen", password: CANARY, recoveryCodes: [CANARY], kind: 2 },
      },
    };
    const json = redactToJson(PutSecretRequestShape, generated);
    expect(json).toMatchObject({ generated: { username: "gen", kind: "KIND_API_KEY" } });
    expect(JSON.stringify(json)).not.toContain(CANARY);
  });

  it("leaves out scalars at their default and keeps explicit-presence fields that are set", () => {
    expect(redactToJson(SecretShape, { name: "", value: "", version: 0 })).toEqual({});
    expect(redactToJson(PutSecretRequestShape, { comment: "", ports: [], labels: {} })).toEqual({
      comment: "",
    });
  });

  it("writes NaN, infinities, unknown enum numbers, 64-bit limits and Timestamp precisions", () => {
    const json = redactToJson(PutSecretRequestShape, {
      ratio: Number.NaN,
      weight: Number.NEGATIVE_INFINITY,
      kinds: [7],
      version: "-9223372036854775808",
      size: "18446744073709551615",
      expiresAt: { seconds: "1", nanos: 1000 },
      ttl: { seconds: -2, nanos: -5 },
      note: { value: "" },
    });
    expect(json).toEqual({
      ratio: "NaN",
      weight: "-Infinity",
      kinds: [7],
      version: "-9223372036854775808",
      size: "18446744073709551615",
      expiresAt: "1970-01-01T00:00:01.000001Z",
      ttl: "-2.000000005s",
      note: "",
    });
  });

  it("skips and counts values of the wrong type, naming paths and types but never values", () => {
    const found = problems();
    const json = redactToJson(
      PutSecretRequestShape,
      {
        name: 12,
        owner: { id: "u-1", credential: { username: CANARY.length > 0 ? ["x"] : "", kind: "KIND_NOPE" } },
        credentials: "not a list",
        labels: { ok: "yes", bad: 5 },
        version: 1.5,
        size: -1,
        delta: 2 ** 40,
        pinned: "true",
        ports: [1, "2", Symbol.for(CANARY)],
        expiresAt: new Date(Number.NaN),
        vaultPath: "kv/x",
        source: { $case: "generated", value: null },
      },
      found,
    );
    expect(json).toEqual({ owner: { id: "u-1", credential: {} }, labels: { ok: "yes" }, ports: [1, 2] });
    expect(found.count).toBe(12);
    expect(found.first).toEqual([
      "name: not a valid string (number)",
      "owner.credential.username: not a valid string (an array)",
      "owner.credential.kind: not a valid enum value (string)",
      "credentials: not an array (string)",
      "labels[]: not a valid string (number)",
    ]);
    expect(JSON.stringify(found)).not.toContain(CANARY);
  });

  it("never throws: not an object, a throwing getter, a cycle, a sensitive getter never read", () => {
    for (const odd of [null, undefined, "text", 5, Buffer.from("x"), []]) {
      const found = problems();
      expect(redactToJson(SecretShape, odd, found)).toEqual({});
      expect(found.count).toBeLessThanOrEqual(1);
    }
    const throwing = {
      name: "n",
      get version(): number {
        throw new Error(CANARY);
      },
      get value(): string {
        throw new Error("a sensitive field is never read");
      },
    };
    const found = problems();
    expect(redactToJson(SecretShape, throwing, found)).toEqual({ name: "n" });
    expect(found.first).toEqual(["version: could not be read (a getter or Proxy trap threw)"]);

    const cyclic: Record<string, unknown> = { username: "loop" };
    const owner: Record<string, unknown> = { id: "o" };
    owner.credential = cyclic;
    const self = { source: { $case: "generated", value: cyclic } };
    expect(redactToJson(PutSecretRequestShape, { owner, ...self })).toMatchObject({ owner: { id: "o" } });
    const deep: Record<string, unknown> = { name: "deep" };
    deep.owner = { credential: deep }; // not a Credential: read as one, and fine
    expect(() => redactToJson(PutSecretRequestShape, deep)).not.toThrow();
  });

  it("keeps a oneof to one member when proto-loader objects set several", () => {
    const found = problems();
    const json = redactToJson(
      PutSecretRequestShape,
      { vaultPath: "kv/a", generated: { username: "g" } },
      found,
    );
    expect(json).toEqual({ vaultPath: "kv/a" });
    expect(found.first).toEqual(["generated: a second member of oneof source is set"]);
  });

  it("sorts map keys by UTF-8 bytes and leaves out a sensitive map whole", () => {
    const labels = { z: "1", "\u{1F600}": "2", "\uFF5E": "3", A: "4", é: "5" };
    const json = redactToJson(PutSecretRequestShape, { labels, env: { K: CANARY } }) as {
      labels: Record<string, string>;
    };
    expect(Object.keys(json.labels)).toEqual(["A", "z", "é", "\uFF5E", "\u{1F600}"]);
    expect(json).not.toHaveProperty("env");
  });
});
