// The OpenFGA authorizer and the audited tuple writer check their option names.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createAuditedTupleWriter, createOpenFgaAuthorizer } from "../../src/openfga/index.js";

// Only what the factories check before the options; nothing is ever called.
const client = { storeId: "s", check: () => {}, api: { batchCheck: () => {} } } as never;
const recorder = { recordTupleChange: () => Promise.resolve("accepted" as const) };

describe("OpenFGA factories refuse unknown option names", () => {
  const cases: [string, () => unknown, string][] = [
    [
      "createOpenFgaAuthorizer",
      () => createOpenFgaAuthorizer({ client, caches: { ttlMs: 5 } } as never),
      "createOpenFgaAuthorizer: unknown option `caches` (did you mean `cache`?)",
    ],
    [
      "createOpenFgaAuthorizer's cache",
      () => createOpenFgaAuthorizer({ client, cache: { ttl: 5 } } as never),
      "createOpenFgaAuthorizer: cache: unknown option `ttl`",
    ],
    [
      "createAuditedTupleWriter",
      () => createAuditedTupleWriter({ client, recorder, authoriser: {} } as never),
      "createAuditedTupleWriter: unknown option `authoriser` (did you mean `authorizer`?)",
    ],
  ];
  for (const [what, create, message] of cases) {
    it(what, () => {
      expect(create).toThrow(AuditConfigError);
      expect(create).toThrow(message);
    });
  }
});
