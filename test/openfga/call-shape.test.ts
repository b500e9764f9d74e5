// A call of the wrong shape (options that are not an object, requests that are not an array) is a
// caller's bug: the OpenFGA authorizer rejects it with an AuditInputError and sends nothing, where a
// request of the wrong shape is answered "unsupported_request". The audited tuple writer refuses an
// authorizer whose invalidate could not be called.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditConfigError, AuditInputError } from "../../src/errors/index.js";
import { createAuditedTupleWriter, createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";

let standIn: OpenFgaStandIn;
beforeAll(async () => {
  standIn = await startOpenFgaStandIn();
});
afterAll(async () => {
  await standIn.close();
});

type Authorizer = ReturnType<typeof createOpenFgaAuthorizer>;
const request = { user: "user:a", relation: "viewer", object: "doc:1" };

describe("the OpenFGA authorizer, called with arguments of the wrong type", () => {
  it.each([
    [
      "check(request, null)",
      "OpenFGA authorizer: check's options must be an object, got null",
      (a: Authorizer) => a.check(request, null as never),
    ],
    [
      "batchCheck([request], 1)",
      "OpenFGA authorizer: batchCheck's options must be an object, got number",
      (a: Authorizer) => a.batchCheck([request], 1 as never),
    ],
    [
      "batchCheck(undefined)",
      "OpenFGA authorizer: batchCheck's `requests` must be an array of check requests, got undefined",
      (a: Authorizer) => a.batchCheck(undefined as never),
    ],
    [
      "batchCheck(null)",
      "OpenFGA authorizer: batchCheck's `requests` must be an array of check requests, got null",
      (a: Authorizer) => a.batchCheck(null as never),
    ],
    [
      "batchCheck(42)",
      "OpenFGA authorizer: batchCheck's `requests` must be an array of check requests, got number",
      (a: Authorizer) => a.batchCheck(42 as never),
    ],
  ])("%s rejects with an AuditInputError and asks nothing", async (_call, message, call) => {
    const before = standIn.requests.length;
    const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn) });
    const error: unknown = await call(authorizer).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(AuditInputError);
    expect((error as Error).message).toBe(message);
    expect(standIn.requests.length).toBe(before);
  });

  it("still answers a request of the wrong shape with an unsupported_request decision", async () => {
    const authorizer = createOpenFgaAuthorizer({ client: standInClient(standIn) });
    await expect(authorizer.check(null as never)).resolves.toMatchObject({
      kind: "error",
      reason: "unsupported_request",
    });
  });
});

describe("createAuditedTupleWriter", () => {
  it.each([
    ["null", null],
    ["{ invalidate: 1 }", { invalidate: 1 }],
  ])("refuses authorizer: %s with an AuditConfigError", (_label, authorizer) => {
    expect(() =>
      createAuditedTupleWriter({
        client: standInClient(standIn),
        recorder: fixedRecorder().recorder,
        authorizer: authorizer as never,
      }),
    ).toThrow(
      new AuditConfigError(
        "createAuditedTupleWriter: `authorizer` must be an Authorizer (an object whose `invalidate` is a function)",
      ),
    );
  });

  it("takes an authorizer without invalidate (one without a cache)", () => {
    expect(() =>
      createAuditedTupleWriter({
        client: standInClient(standIn),
        recorder: fixedRecorder().recorder,
        authorizer: {},
      }),
    ).not.toThrow();
  });
});
