/**
 * Message shapes of test/fixtures/payload/payload.proto, written by hand as protoc-gen-grpc-audit
 * generates them (see src/rules/message-shape.ts), for the payload tests.
 */
import type { FieldShape, MessageShape, ScalarType, ValueShape } from "../../src/rules/message-shape.js";

type Extra = { sensitive?: boolean; repeated?: boolean; optional?: boolean; oneof?: string };

function field(no: number, name: string, value: ValueShape, extra: Extra = {}): FieldShape {
  return {
    no,
    name,
    jsonName: name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()),
    sensitive: extra.sensitive ?? false,
    ...value,
    repeated: extra.repeated ?? false,
    optional: extra.optional ?? false,
    oneof: extra.oneof,
  };
}

function mapField(
  no: number,
  name: string,
  key: ScalarType,
  value: ValueShape,
  sensitive = false,
): FieldShape {
  const jsonName = name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
  return { no, name, jsonName, sensitive, kind: "map", key, value };
}

const scalar = (type: ScalarType): ValueShape => ({ kind: "scalar", scalar: type });
const message = (shape: () => MessageShape): ValueShape => ({ kind: "message", message: shape });
const KIND: ValueShape = {
  kind: "enum",
  values: { KIND_UNSPECIFIED: 0, KIND_PASSWORD: 1, KIND_API_KEY: 2 },
};

export const CredentialShape: MessageShape = {
  typeName: "fixtures.payload.v1.Credential",
  fields: [
    field(1, "username", scalar("string")),
    field(2, "password", scalar("string"), { sensitive: true }),
    field(3, "recovery_codes", scalar("string"), { sensitive: true, repeated: true }),
    field(4, "kind", KIND),
  ],
};

export const OwnerShape: MessageShape = {
  typeName: "fixtures.payload.v1.Owner",
  fields: [
    field(1, "id", scalar("string")),
    field(2, "email", scalar("string"), { sensitive: true }), // debug_redact
    field(
      3,
      "credential",
      message(() => CredentialShape),
    ),
  ],
};

export const PutSecretRequestShape: MessageShape = {
  typeName: "fixtures.payload.v1.PutSecretRequest",
  fields: [
    field(1, "name", scalar("string")),
    field(2, "value", scalar("string"), { sensitive: true }),
    field(
      3,
      "owner",
      message(() => OwnerShape),
    ),
    field(
      4,
      "credentials",
      message(() => CredentialShape),
      { repeated: true },
    ),
    mapField(5, "labels", "string", scalar("string")),
    mapField(6, "env", "string", scalar("string"), true),
    mapField(
      7,
      "by_host",
      "string",
      message(() => CredentialShape),
    ),
    field(8, "inline_text", scalar("string"), { sensitive: true, oneof: "source" }),
    field(9, "vault_path", scalar("string"), { oneof: "source" }),
    field(
      10,
      "generated",
      message(() => CredentialShape),
      { oneof: "source" },
    ),
    field(11, "version", scalar("int64")),
    field(12, "size", scalar("uint64")),
    field(13, "delta", scalar("sint32")),
    field(14, "checksum", scalar("fixed64")),
    field(15, "ratio", scalar("double")),
    field(16, "weight", scalar("float")),
    field(17, "pinned", scalar("bool")),
    field(18, "blob", scalar("bytes"), { sensitive: true }),
    field(19, "salt", scalar("bytes")),
    field(20, "comment", scalar("string"), { optional: true }),
    field(21, "ports", scalar("int32"), { repeated: true }),
    field(22, "kinds", KIND, { repeated: true }),
    field(23, "expires_at", { kind: "wellKnown", type: "google.protobuf.Timestamp" }),
    field(24, "ttl", { kind: "wellKnown", type: "google.protobuf.Duration" }),
    field(25, "note", { kind: "wellKnown", type: "google.protobuf.StringValue" }),
  ],
};

export const ReadSecretRequestShape: MessageShape = {
  typeName: "fixtures.payload.v1.ReadSecretRequest",
  fields: [
    field(1, "name", scalar("string")),
    field(2, "reason", scalar("string")),
    field(3, "one_time_code", scalar("string"), { sensitive: true }),
  ],
};

export const SecretShape: MessageShape = {
  typeName: "fixtures.payload.v1.Secret",
  fields: [
    field(1, "name", scalar("string")),
    field(2, "value", scalar("string"), { sensitive: true }),
    field(3, "version", scalar("int64")),
  ],
};

export const ImportSummaryShape: MessageShape = {
  typeName: "fixtures.payload.v1.ImportSummary",
  fields: [field(1, "imported", scalar("uint32"))],
};
