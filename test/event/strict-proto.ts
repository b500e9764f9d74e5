// A second, strict reader of encoded events: @bufbuild/protobuf with the descriptor buf builds from
// proto/grpcaudit/v1/event.proto. Its JSON writer refuses what the protobuf spec forbids (a Timestamp
// outside 0001-01-01..9999-12-31 or with negative nanos, a Duration beyond ±315,576,000,000 s), which
// ts-proto writes and reads back without complaint.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createFileRegistry, type DescMessage, fromBinary, type JsonValue, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

let schema: DescMessage | undefined;

function auditEventSchema(): DescMessage {
  if (schema !== undefined) return schema;
  const image = execFileSync(
    join(REPO, "node_modules/.bin/buf"),
    ["build", "proto", "--path", "proto/grpcaudit/v1/event.proto", "-o", "-#format=binpb"],
    { cwd: REPO },
  );
  const found = createFileRegistry(fromBinary(FileDescriptorSetSchema, image)).getMessage(
    "grpcaudit.v1.AuditEvent",
  );
  if (found === undefined) throw new Error("grpcaudit.v1.AuditEvent is not in the buf image");
  schema = found;
  return found;
}

/** Decodes protobuf bytes as grpcaudit.v1.AuditEvent and writes proto3 JSON; throws on invalid values. */
export function strictProtoJson(bytes: Uint8Array): JsonValue {
  const type = auditEventSchema();
  return toJson(type, fromBinary(type, bytes));
}
