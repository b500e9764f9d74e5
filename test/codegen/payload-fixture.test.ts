// The generated payload fixture (test/fixtures/gen/payload, from buf.gen.test.yaml) as the payload tests
// use it. `npm run typecheck` compiles this file: the assignments below fail to compile when the
// generated tables or shapes stop being grpc-audit RuleTables and MessageShapes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { mergeRuleTables } from "../../src/rules/audit-rule-table.js";
import type { FieldShape, MessageShape } from "../../src/rules/message-shape.js";
import {
  Credential,
  Owner,
  PutSecretRequest,
  ReadSecretRequest,
  Secret,
} from "../fixtures/gen/payload/payload.js";
import { auditRules } from "../fixtures/gen/payload/payload_audit.js";
import { REPO } from "./helpers.js";

const table: RuleTable = auditRules;
const putRequest: MessageShape = auditRules["/fixtures.payload.v1.VaultService/PutSecret"].requestShape;
const readResponse: MessageShape = auditRules["/fixtures.payload.v1.VaultService/ReadSecret"].responseShape;

function rule(method: string): AuditRule {
  const found = table[`/fixtures.payload.v1.VaultService/${method}`];
  if (found === undefined) throw new Error(`no rule for ${method}`);
  return found;
}

function requireShape(shape: MessageShape | undefined): MessageShape {
  if (shape === undefined) throw new Error("no shape");
  return shape;
}

/** Every message shape below `root` (itself included), by type name. */
function allShapes(root: MessageShape): Map<string, MessageShape> {
  const found = new Map<string, MessageShape>();
  const visit = (shape: MessageShape): void => {
    if (found.has(shape.typeName)) return;
    found.set(shape.typeName, shape);
    for (const field of shape.fields) {
      const value = field.kind === "map" ? field.value : field;
      if (value.kind === "message") visit(value.message());
    }
  };
  visit(root);
  return found;
}

function fieldOf(shape: MessageShape, name: string): FieldShape {
  const field = shape.fields.find((f) => f.name === name);
  if (field === undefined) throw new Error(`no field ${name} in ${shape.typeName}`);
  return field;
}

describe("payload_audit.ts", () => {
  it("passes the runtime checks, with each method's capture mode and both shapes", () => {
    const rules = mergeRuleTables(table);
    expect(
      [...rules.values()].map((r) => [
        r.method.split("/")[2],
        r.payload,
        r.requestShape?.typeName,
        r.responseShape?.typeName,
      ]),
    ).toEqual([
      ["PutSecret", "digest", "fixtures.payload.v1.PutSecretRequest", "fixtures.payload.v1.Secret"],
      ["RotateSecret", "redacted", "fixtures.payload.v1.PutSecretRequest", "fixtures.payload.v1.Secret"],
      ["ReadSecret", "digest", "fixtures.payload.v1.ReadSecretRequest", "fixtures.payload.v1.Secret"],
      ["WatchSecrets", "digest", "fixtures.payload.v1.ReadSecretRequest", "fixtures.payload.v1.Secret"],
      [
        "ImportSecrets",
        "redacted",
        "fixtures.payload.v1.PutSecretRequest",
        "fixtures.payload.v1.ImportSummary",
      ],
      ["SyncSecrets", "digest", "fixtures.payload.v1.PutSecretRequest", "fixtures.payload.v1.Secret"],
    ]);
  });

  it("shares one frozen shape per message type between rules and fields", () => {
    expect(rule("RotateSecret").requestShape).toBe(putRequest);
    expect(rule("WatchSecrets").responseShape).toBe(readResponse);
    const owner = fieldOf(putRequest, "owner");
    const credentials = fieldOf(putRequest, "credentials");
    if (owner.kind !== "message" || credentials.kind !== "message") throw new Error("not messages");
    const credential = fieldOf(owner.message(), "credential");
    if (credential.kind !== "message") throw new Error("not a message");
    expect(credential.message()).toBe(credentials.message());
    expect(Object.isFrozen(putRequest)).toBe(true);
    expect(Object.isFrozen(putRequest.fields)).toBe(true);
    expect(putRequest.fields.every((field) => Object.isFrozen(field))).toBe(true);
  });

  it("marks exactly the fields the proto marks sensitive, with either marker, in every field shape", () => {
    const sensitive = [
      ...allShapes(putRequest).values(),
      ...allShapes(requireShape(rule("ReadSecret").requestShape)).values(),
      readResponse,
    ]
      .flatMap((shape) => shape.fields.filter((f) => f.sensitive).map((f) => `${shape.typeName}.${f.name}`))
      .map((name) => name.replace("fixtures.payload.v1.", ""))
      .sort();
    expect(sensitive).toEqual([
      "Credential.password",
      "Credential.recovery_codes",
      "Owner.email", // debug_redact
      "PutSecretRequest.blob",
      "PutSecretRequest.env", // a map
      "PutSecretRequest.inline_text", // a oneof member
      "PutSecretRequest.value",
      "ReadSecretRequest.one_time_code",
      "Secret.value",
    ]);
  });

  it("lists fields in field-number order, under ts-proto's property names", () => {
    const messages = [
      [putRequest, PutSecretRequest.create()],
      [readResponse, Secret.create()],
      [requireShape(rule("ReadSecret").requestShape), ReadSecretRequest.create()],
      [requireShape(allShapes(putRequest).get("fixtures.payload.v1.Owner")), Owner.create()],
      [requireShape(allShapes(putRequest).get("fixtures.payload.v1.Credential")), Credential.create()],
    ] as const;
    for (const [shape, message] of messages) {
      const numbers = shape.fields.map((f) => f.no);
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
      // ts-proto keeps a oneof under its name and every other field under its JSON name.
      const properties = new Set(shape.fields.map((f) => (f.kind !== "map" && f.oneof) || f.jsonName));
      expect([...properties].sort(), shape.typeName).toEqual(Object.keys(message).sort());
    }
  });

  it("imports nothing but ts-proto's module of the same proto file", () => {
    const source = readFileSync(join(REPO, "test/fixtures/gen/payload/payload_audit.ts"), "utf8");
    expect(source.match(/^import .*$/gm)).toEqual([
      'import type { ImportSummary, PutSecretRequest, ReadSecretRequest, Secret } from "./payload.js";',
    ]);
  });
});
