// What createAuditInterceptors throws for a bad option of its own, of `authn` or of `authz`: the
// message names createAuditInterceptors and the option by its path in what the caller passed
// (`authz.timeoutMs`), not the internal interceptor that checked it. Timer options take whole ms.
import { describe, expect, it } from "vitest";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";

const recorder = createRecorder({ service: "s", emitters: [createNoopEmitter()] });
const authorizer = { check: async () => ({ kind: "allowed" as const }) };
const authenticator = { method: "x", authenticate: () => ({ kind: "absent" as const }) };

/** The class and message of what `create` throws; fails the test when it throws nothing. */
function thrown(create: () => unknown): [string, string] {
  try {
    create();
  } catch (error) {
    expect(error).toBeInstanceOf(AuditConfigError);
    return [(error as Error).name, (error as Error).message];
  }
  throw new Error("nothing was thrown");
}

const TIMER = "must be an integer of ms from 1 to 2147483647 (what a timer holds)";

describe("createAuditInterceptors names itself and the option's path in what it throws", () => {
  it.each([
    // Before the fix: "authz interceptor: `timeoutMs` must be a number of ms …, got -1".
    [
      "authz.timeoutMs -1",
      { authz: { authorizer, rules: [], timeoutMs: -1 } },
      `createAuditInterceptors: \`authz.timeoutMs\` ${TIMER}, got -1`,
    ],
    // Before the fix: accepted, while the other timer options refused fractions.
    [
      "authz.timeoutMs 1500.5",
      { authz: { authorizer, rules: [], timeoutMs: 1500.5 } },
      `createAuditInterceptors: \`authz.timeoutMs\` ${TIMER}, got 1500.5`,
    ],
    [
      "authz.missingRule",
      { authz: { authorizer, rules: [], missingRule: "maybe" } },
      'createAuditInterceptors: `authz.missingRule` must be "deny" or "allow", got maybe',
    ],
    [
      "authz.authorizer",
      { authz: { authorizer: {}, rules: [] } },
      "createAuditInterceptors: `authz.authorizer` must be an Authorizer",
    ],
    [
      "authz.toUser",
      { authz: { authorizer, rules: [], toUser: "user:alice" } },
      "createAuditInterceptors: `authz.toUser` must be a function",
    ],
    // Before the fix: each began "authn interceptor:".
    [
      "authn.authenticators []",
      { authn: { authenticators: [] } },
      "createAuditInterceptors: `authn.authenticators` must list at least one",
    ],
    [
      "authn.authenticators[1]",
      { authn: { authenticators: [authenticator, { method: "y" }] } },
      "createAuditInterceptors: `authn.authenticators[1]` must have a method name and an authenticate function",
    ],
    [
      "authn.allowAnonymous",
      { authn: { authenticators: [authenticator], allowAnonymous: ["pkg.Service/"] } },
      'createAuditInterceptors: `authn.allowAnonymous` must list method paths or service prefixes starting with "/"',
    ],
    // Before the fix: each began "rules interceptor:".
    [
      "handlerSettleTimeoutMs 1500.5",
      { handlerSettleTimeoutMs: 1500.5 },
      `createAuditInterceptors: \`handlerSettleTimeoutMs\` ${TIMER}, got 1500.5`,
    ],
    [
      "failMode",
      { failMode: "shut" },
      'createAuditInterceptors: `failMode` must be "open" or "closed", got shut',
    ],
    // Before the fix: "requestIdHeader must be …", naming no function at all.
    [
      "requestIdHeader",
      { requestIdHeader: "te" },
      'createAuditInterceptors: `requestIdHeader` must be false or a response header name for the request id; "te" is refused: a connection-specific header, which Node\'s HTTP/2 refuses in a response (the first answer would crash the server)',
    ],
  ])("%s", (_name, options, message) => {
    expect(thrown(() => createAuditInterceptors({ recorder, rules: [], ...options } as never))).toStrictEqual(
      ["AuditConfigError", message],
    );
  });
});
