import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRulesInterceptor } from "../../src/interceptors/rules-interceptor.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { asyncService, toStatusError } from "../../src/server/async-service.js";

const recorder = createRecorder({ service: "s", emitters: [createNoopEmitter()] });

describe("createRulesInterceptor options", () => {
  it.each([
    ["no recorder", { rules: {} }, "rules interceptor: `recorder` must be a Recorder"],
    [
      "a bad failMode",
      { recorder, rules: {}, failMode: "maybe" },
      'rules interceptor: failMode must be "open" or "closed", got maybe',
    ],
    ["a bad rule table", { recorder, rules: [5] }, "rules[0] must be a table"],
    [
      "a handlerSettleTimeoutMs that is not a positive integer",
      { recorder, rules: {}, handlerSettleTimeoutMs: 0 },
      "rules interceptor: `handlerSettleTimeoutMs` must be an integer of ms from 1 to 2147483647 (what a timer holds), got 0",
    ],
    [
      // Before the fix: accepted, and Node fired the timer after 1 ms (every wait for a handler ended at once).
      "a handlerSettleTimeoutMs longer than the longest Node timer",
      { recorder, rules: {}, handlerSettleTimeoutMs: 2 ** 31 },
      "rules interceptor: `handlerSettleTimeoutMs` must be an integer of ms from 1 to 2147483647 (what a timer holds), got 2147483648",
    ],
  ])("throws for %s", (_name, options, message) => {
    expect(() => createRulesInterceptor(options as never)).toThrow(message);
  });
});

describe("toStatusError", () => {
  it("keeps a gRPC code with its details or message", () => {
    expect(toStatusError({ code: status.NOT_FOUND, details: "gone" })).toStrictEqual({
      code: status.NOT_FOUND,
      details: "gone",
      message: "gone",
    });
    expect(
      toStatusError(Object.assign(new Error("denied"), { code: status.PERMISSION_DENIED })),
    ).toStrictEqual({
      code: status.PERMISSION_DENIED,
      details: "denied",
      message: "denied",
    });
  });

  it.each([
    ["a plain Error", new Error("password=x")],
    ["a string", "boom"],
    ["an out-of-range code", { code: 99, details: "x" }],
    ["code OK, which is not an error", { code: 0, details: "x" }],
    ["a non-numeric code", { code: "ECONNREFUSED", message: "x" }],
    [
      "an error of a library's class with only a numeric code",
      Object.assign(new (class MongoServerError extends Error {})("pw=x"), { code: 13 }),
    ],
  ])("maps %s to INTERNAL with a fixed message", (_name, error) => {
    expect(toStatusError(error)).toStrictEqual({
      code: status.INTERNAL,
      details: "internal error",
      message: "internal error",
    });
  });
});

describe("asyncService", () => {
  it("refuses a handler for a method the service does not have", () => {
    expect(() => asyncService(ProjectServiceService, { nope: async () => ({}) } as never)).toThrow(
      'asyncService: the service has no method "nope"',
    );
  });

  // Before the fix: a TypeError ("Cannot convert undefined or null to object").
  it("refuses a definition that is not one, naming it", () => {
    expect(() => asyncService(null as never, {} as never)).toThrow(
      new AuditConfigError(
        "asyncService: definition must be a grpc-js service definition (such as the generated ProjectServiceService)",
      ),
    );
  });
});

describe("createAuditInterceptors options", () => {
  const authn = { authenticators: [{ method: "x", authenticate: () => ({ kind: "absent" as const }) }] };
  const authz = { authorizer: { check: async () => ({ kind: "allowed" as const }) } as never, rules: {} };
  it.each([
    ["no options", undefined, "createAuditInterceptors: options must be an object"],
    [
      "no recorder, with authn",
      { rules: {}, authn },
      "createAuditInterceptors: `recorder` must be a Recorder (createRecorder), with authnObserver",
    ],
    [
      "a recorder without authzObserver, with authz",
      { recorder: {}, rules: {}, authz },
      "createAuditInterceptors: `recorder` must be a Recorder (createRecorder), with authzObserver",
    ],
    // Before the fix: "rules[0] must be a table", without the factory's name.
    [
      "no rules",
      { recorder },
      "createAuditInterceptors: `rules` is required: the generated `auditRules` tables (`[]` for none)",
    ],
    [
      "rules that are null",
      { recorder, rules: null },
      "createAuditInterceptors: `rules` is required: the generated `auditRules` tables (`[]` for none)",
    ],
    [
      "rules that are a string",
      { recorder, rules: "x" },
      "createAuditInterceptors: `rules` must be a generated `auditRules` table or a list of them, got string",
    ],
    // Before the fix: each was accepted, and the setting never applied.
    [
      "a misspelt failMode",
      { recorder, rules: {}, failmode: "closed" },
      "createAuditInterceptors: unknown option `failmode` (did you mean `failMode`?)",
    ],
    [
      "a misspelt authn option",
      { recorder, rules: {}, authn: { ...authn, allowAnonymus: ["/"] } },
      "createAuditInterceptors: authn: unknown option `allowAnonymus` (did you mean `allowAnonymous`?)",
    ],
    [
      "a misspelt authz option",
      { recorder, rules: {}, authz: { ...authz, missingrule: "allow" } },
      "createAuditInterceptors: authz: unknown option `missingrule` (did you mean `missingRule`?)",
    ],
    [
      "an authn given as a list",
      { recorder, rules: {}, authn: [authn] },
      "createAuditInterceptors: `authn` must be an object",
    ],
  ])("throws an AuditConfigError naming the option for %s", (_name, options, message) => {
    expect(() => createAuditInterceptors(options as never)).toThrow(AuditConfigError);
    expect(() => createAuditInterceptors(options as never)).toThrow(message);
  });
});
