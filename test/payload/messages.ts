/**
 * Messages of test/fixtures/payload/payload.proto as ts-proto objects, with a canary secret in every
 * sensitive field shape (top level, nested, repeated, map value, map of messages, oneof member,
 * debug_redact, bytes), and the proto-loader views of the same bytes.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import { type Credential, Kind, type PutSecretRequest } from "../fixtures/gen/payload/payload.js";

/** The repository root: proto-loader reads the fixture's .proto files from it. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export const CANARY = "canary-5ecret-7f3a";

/** A PutSecretRequest as ts-proto holds it: every field set, a canary in every sensitive one. */
export function putSecretRequest(): PutSecretRequest {
  return {
    name: "db-password",
    value: CANARY,
    owner: {
      id: "u-1",
      email: `${CANARY}@example.com`,
      credential: { username: "alice", password: CANARY, recoveryCodes: [CANARY], kind: Kind.KIND_PASSWORD },
    },
    credentials: [
      { username: "bob", password: CANARY, recoveryCodes: [CANARY, CANARY], kind: Kind.KIND_API_KEY },
    ],
    labels: { team: "core", tier: "gold" },
    env: { TOKEN: CANARY },
    byHost: {
      "db.internal": { username: "carol", password: CANARY, recoveryCodes: [], kind: Kind.KIND_UNSPECIFIED },
    },
    source: { $case: "inlineText", value: CANARY },
    version: 42,
    size: 2 ** 40,
    delta: -7,
    checksum: 123456789,
    ratio: 0.25,
    weight: 1.5,
    pinned: true,
    blob: Buffer.from(CANARY),
    salt: Buffer.from([1, 2, 3]),
    comment: "",
    ports: [443, -1, 0],
    kinds: [Kind.KIND_PASSWORD, Kind.KIND_UNSPECIFIED],
    expiresAt: new Date("2030-01-02T03:04:05.678Z"),
    ttl: { seconds: 90, nanos: 500_000_000 },
    note: "hello",
    aliases: ["db", ""],
    chunks: [Buffer.from([0, 1]), Buffer.alloc(0)],
  };
}

/** The proto3 JSON `redactToJson` gives for `putSecretRequest()`. */
export const PUT_SECRET_REQUEST_JSON = {
  name: "db-password",
  owner: { id: "u-1", credential: { username: "alice", kind: "KIND_PASSWORD" } },
  credentials: [{ username: "bob", kind: "KIND_API_KEY" }],
  labels: { team: "core", tier: "gold" },
  byHost: { "db.internal": { username: "carol" } },
  version: "42",
  size: "1099511627776",
  delta: -7,
  checksum: "123456789",
  ratio: 0.25,
  weight: 1.5,
  pinned: true,
  salt: "AQID",
  comment: "",
  ports: [443, -1, 0],
  kinds: ["KIND_PASSWORD", "KIND_UNSPECIFIED"],
  expiresAt: "2030-01-02T03:04:05.678Z",
  ttl: "90.500s",
  note: "hello",
  aliases: ["db", ""],
  chunks: ["AAE=", ""],
};

/**
 * `message` (a ts-proto PutSecretRequest) with its sensitive fields cleared the ts-proto way: what the
 * recipe in docs/payload-capture.md encodes with ts-proto.
 */
export function clearSensitive(message: PutSecretRequest): PutSecretRequest {
  const clearCredential = (credential: Credential): Credential => ({
    ...credential,
    password: "",
    recoveryCodes: [],
  });
  const { owner, source } = message;
  return {
    ...message,
    value: "",
    owner:
      owner === undefined
        ? undefined
        : {
            ...owner,
            email: "",
            credential: owner.credential === undefined ? undefined : clearCredential(owner.credential),
          },
    credentials: message.credentials.map(clearCredential),
    env: {},
    byHost: Object.fromEntries(
      Object.entries(message.byHost).map(([key, value]) => [key, clearCredential(value)]),
    ),
    source:
      source?.$case === "inlineText"
        ? undefined
        : source?.$case === "generated"
          ? { $case: "generated", value: clearCredential(source.value) }
          : source,
    blob: Buffer.alloc(0),
  };
}

/** The loader options of @grpc/proto-loader the tests read the same bytes with. */
export const PROTO_LOADER_VARIANTS: Record<string, protoLoader.Options> = {
  "keepCase, longs as strings, enum names, defaults, oneofs": {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  },
  "camelCase, Long objects, enum numbers, no defaults": { keepCase: false },
  "camelCase, longs as numbers, bytes as base64": { longs: Number, bytes: String, arrays: true },
};

/** The request deserializer of VaultService.PutSecret under the given proto-loader options. */
export function protoLoaderDecoder(options: protoLoader.Options): (bytes: Uint8Array) => unknown {
  const definition = protoLoader.loadSync("payload/payload.proto", {
    ...options,
    includeDirs: [`${REPO}/proto`, `${REPO}/test/fixtures`],
  });
  const service = definition["fixtures.payload.v1.VaultService"] as Record<
    string,
    { requestDeserialize: (bytes: Buffer) => unknown }
  >;
  const method = service.PutSecret;
  if (method === undefined) throw new Error("PutSecret not in the loaded definition");
  return (bytes) => method.requestDeserialize(Buffer.from(bytes));
}
