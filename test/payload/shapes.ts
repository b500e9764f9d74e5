/**
 * The fixture's generated audit rules and the message shapes the payload tests walk, all taken from
 * test/fixtures/gen/payload/payload_audit.ts (protoc-gen-grpc-audit's output for
 * test/fixtures/payload/payload.proto, committed), so the tests check the shapes the plugin really writes.
 */
import type { RuleTable } from "../../src/rules/audit-rule.js";
import type { MessageShape } from "../../src/rules/message-shape.js";
import { auditRules } from "../fixtures/gen/payload/payload_audit.js";

/** The path prefix of the fixture's VaultService methods. */
export const SERVICE = "/fixtures.payload.v1.VaultService/";

/** The generated audit rules of the fixture, as the interceptors take them. */
export const VAULT_RULES: RuleTable = auditRules;

/** The generated shape of one side of a VaultService method; throws if the plugin left it out. */
function shapeOf(method: string, side: "requestShape" | "responseShape"): MessageShape {
  const shape = VAULT_RULES[`${SERVICE}${method}`]?.[side];
  if (shape === undefined) throw new Error(`the generated rule of ${method} has no ${side}`);
  return shape;
}

export const PutSecretRequestShape = shapeOf("PutSecret", "requestShape");
export const ReadSecretRequestShape = shapeOf("ReadSecret", "requestShape");
export const SecretShape = shapeOf("PutSecret", "responseShape");
export const ImportSummaryShape = shapeOf("ImportSecrets", "responseShape");
