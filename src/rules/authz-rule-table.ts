import type { AuthzRule, AuthzRuleTable } from "./authz-rule.js";
import { AUTHZ_TABLES, METHOD_KINDS, mergeTables } from "./merge-tables.js";

/** Headers that carry credentials whichever authenticator reads them (protoc-gen-grpc-audit refuses them too). */
const CREDENTIAL_HEADERS: readonly string[] = ["authorization", "proxy-authorization", "cookie"];

/**
 * Merges generated authz rule tables into one lookup map keyed by full method path, checking every
 * rule's shape; throws an AuditConfigError naming the method for a bad rule or a conflict.
 * `credentialKeys`: metadata keys the configured authenticators read credentials from, each with who
 * reads it, such as `authn.authenticators[0] ("jwt")`. A rule that reads its object id from one of
 * them, or from `authorization`, `proxy-authorization` or `cookie`, is refused: the credential would be
 * recorded as the object id and sent to the authorizer. Default: none besides those three.
 * @internal
 */
export function mergeAuthzRuleTables(
  tables: AuthzRuleTable | readonly AuthzRuleTable[],
  credentialKeys: ReadonlyMap<string, string> = new Map(),
): ReadonlyMap<string, AuthzRule> {
  return mergeTables(AUTHZ_TABLES, tables, (_path, rule, fail) => {
    if (!METHOD_KINDS.has(rule.kind)) fail(`kind must be one of ${[...METHOD_KINDS].join(", ")}`);
    if (typeof rule.public !== "boolean") fail("public must be a boolean");
    if (typeof rule.objectId !== "function") fail("objectId must be a function");
    if (rule.public) return;
    if (typeof rule.relation !== "string" || rule.relation === "")
      fail("relation must be a non-empty string");
    if (typeof rule.objectType !== "string" || rule.objectType === "")
      fail("objectType must be a non-empty string");
    if (typeof rule.objectIdSource !== "string" || !/^(req\.|metadata:|fixed:)/.test(rule.objectIdSource)) {
      fail('objectIdSource must start with "req.", "metadata:" or "fixed:"');
    }
    if (
      rule.objectIdSource.startsWith("req.") &&
      (rule.kind === "client_streaming" || rule.kind === "bidi_streaming")
    ) {
      fail(
        "a client-streaming or bidi method cannot read its object id from the request (the handler starts first)",
      );
    }
    if (rule.objectIdSource.startsWith("metadata:")) {
      const problem = credentialProblem(rule.objectIdSource.slice("metadata:".length), credentialKeys);
      if (problem !== undefined) fail(`objectIdSource ${JSON.stringify(rule.objectIdSource)}: ${problem}`);
    }
  });
}

const RECORDED = "an id read from it would be recorded and sent to the authorizer";

/** Why the object id must not be read from metadata `key`, if it must not. Names the key, never a value. */
function credentialProblem(key: string, credentialKeys: ReadonlyMap<string, string>): string | undefined {
  // grpc-js lowercases metadata keys: "Authorization" reads the same header.
  const lower = key.toLowerCase();
  if (CREDENTIAL_HEADERS.includes(lower)) return `names a credential header; ${RECORDED}`;
  const reader = credentialKeys.get(lower);
  if (reader !== undefined) return `names the metadata key ${reader} reads its credential from; ${RECORDED}`;
  return undefined;
}
