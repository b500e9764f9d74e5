// An authz rule must not read its object id from a header that carries the caller's credential: the
// authz.decision event would hold it as target.id and objectId, and the authorizer would be sent it.
// A table from an older plugin, or written by hand, is refused when the interceptors are created.
import type { Metadata } from "@grpc/grpc-js";
import { beforeAll, describe, expect, it } from "vitest";
import type { Authenticator } from "../../src/authn/authenticator.js";
import { createJwtAuthenticator } from "../../src/authn/jwt-authenticator.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuthzRule, AuthzRuleTable } from "../../src/rules/authz-rule.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { AUDIENCE, ISSUER, jwtAuthenticatorFor, newSigningKey, type SigningKey } from "../helpers/jwt.js";

const recorder = createRecorder({ service: "s", emitters: [createNoopEmitter()] });
const { authorizer } = createFakeAuthorizer([]);
const PATH = "/app.v1.Accounts/Get";
const RECORDED = "an id read from it would be recorded and sent to the authorizer";

let key: SigningKey;
beforeAll(async () => {
  key = await newSigningKey("k1");
});

/** A table with one rule for PATH reading its object id from metadata `key`, as the plugin wrote them. */
function tableReading(key: string): AuthzRuleTable {
  const rule: AuthzRule = {
    method: PATH,
    format: 2,
    kind: "unary",
    public: false,
    relation: "viewer",
    objectType: "account",
    objectIdSource: `metadata:${key}`,
    objectId: (_request, metadata) => String(metadata.get(key)[0] ?? ""),
  };
  return { [PATH]: rule };
}

/** An API-key authenticator, as users write one: the key's value never leaves it. */
const apiKeys: Authenticator = {
  method: "api-key",
  credentialMetadataKeys: ["x-api-key"],
  authenticate: (metadata: Metadata) =>
    metadata.get("x-api-key")[0] === "sk_live_4f9aSECRETKEY77"
      ? { kind: "authenticated", actor: { id: "ci", type: "service" } }
      : { kind: "absent" },
};

/** The AuditConfigError createAuditInterceptors throws for these options ("" when it throws none). */
function errorOf(authenticators: Authenticator[] | undefined, rules: AuthzRuleTable): string {
  try {
    createAuditInterceptors({
      recorder,
      rules: [],
      ...(authenticators === undefined ? {} : { authn: { authenticators } }),
      authz: { authorizer, rules },
    });
    return "";
  } catch (error) {
    expect(error).toBeInstanceOf(AuditConfigError);
    return (error as Error).message;
  }
}

describe("authz rules reading the object id from credential metadata", () => {
  it.each(["authorization", "proxy-authorization", "cookie", "Authorization"])(
    "refuses %s, with or without authenticators",
    (header) => {
      const message = `authz rules: ${PATH}: objectIdSource "metadata:${header}": names a credential header; ${RECORDED}`;
      expect(errorOf(undefined, tableReading(header))).toBe(message);
      expect(errorOf([jwtAuthenticatorFor(key)], tableReading(header))).toBe(message);
    },
  );

  it("refuses the metadata key of a configured authenticator, naming it and the method, not the credential", () => {
    const message = errorOf([apiKeys], tableReading("x-api-key"));
    expect(message).toBe(
      `authz rules: ${PATH}: objectIdSource "metadata:x-api-key": names the metadata key authn.authenticators[0] ("api-key") reads its credential from; ${RECORDED}`,
    );
    expect(message).not.toContain("sk_live");
  });

  it("refuses the JWT authenticator's own metadataKey", () => {
    const jwt = createJwtAuthenticator({
      jwks: key.jwks,
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ["RS256"],
      metadataKey: "x-token",
    });
    expect(errorOf([apiKeys, jwt], tableReading("x-token"))).toBe(
      `authz rules: ${PATH}: objectIdSource "metadata:x-token": names the metadata key authn.authenticators[1] ("jwt") reads its credential from; ${RECORDED}`,
    );
  });

  it("accepts other metadata keys, also x-api-key when no authenticator reads it", () => {
    const jwt = jwtAuthenticatorFor(key);
    expect(errorOf([jwt, apiKeys], tableReading("x-tenant-id"))).toBe("");
    expect(errorOf([jwt], tableReading("x-api-key"))).toBe("");
  });

  it.each([
    ["a string", "x-api-key"],
    ["a padded key", [" x-api-key"]],
    ["an empty key", [""]],
  ])("refuses credentialMetadataKeys that are %s, also without authz", (_, keys) => {
    const odd = { ...apiKeys, credentialMetadataKeys: keys } as unknown as Authenticator;
    const refusal =
      'createAuditInterceptors: authn.authenticators[0] ("api-key"): `credentialMetadataKeys` must list metadata keys (letters, digits, "_", ".", "-")';
    expect(errorOf([odd], tableReading("x-tenant-id"))).toBe(refusal);
    expect(() => createAuditInterceptors({ recorder, rules: [], authn: { authenticators: [odd] } })).toThrow(
      refusal,
    );
  });
});
