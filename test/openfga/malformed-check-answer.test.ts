/**
 * A check answered 200 with a body that is not OpenFGA's `{ allowed: boolean }` (a proxy's HTML page,
 * an empty object, `"allowed": "true"`) is not a decision: it must be an error, never a denial (nor,
 * for a batch item saying `"allowed": "false"`, an allow), and never cached. The real SDK client talks
 * to a loopback HTTP server that answers so.
 */
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { CheckRequest } from "../../src/authz/authorizer.js";
import { createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { clientOfServer } from "../helpers/openfga-stand-in.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };

let server: Server | undefined;
afterEach(async () => {
  server?.close();
  server = undefined;
});

/** A loopback server answering every request 200 with `body` as given, and counting requests. */
async function answering(body: string, contentType: string) {
  const seen = { requests: 0 };
  server = createServer((req, res) => {
    seen.requests++;
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": contentType });
      res.end(body);
    });
  });
  const client = await clientOfServer(server);
  return { client, seen };
}

describe("createOpenFgaAuthorizer: a check answer that is not a decision", () => {
  it.each([
    ["an HTML page", "<html>gateway</html>", "text/html"],
    ["an empty object", "{}", "application/json"],
    ["allowed as a string", '{"allowed":"true"}', "application/json"],
    ["JSON cut short", '{"allowed":tr', "application/json"],
  ])("reports %s as error 'malformed_answer', never a denial", async (_name, body, type) => {
    const { client } = await answering(body, type);
    const authorizer = createOpenFgaAuthorizer({ client });
    const decision = await authorizer.check(ALICE_EDITS_P1);
    expect(decision.kind).toBe("error");
    expect(decision.kind === "error" && decision.reason).toBe("malformed_answer");
  });

  it("never caches it: the next check asks again", async () => {
    const { client, seen } = await answering("{}", "application/json");
    const authorizer = createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } });
    await authorizer.check(ALICE_EDITS_P1);
    expect(authorizer.cached?.(ALICE_EDITS_P1)).toBeUndefined();
    const again = await authorizer.check(ALICE_EDITS_P1);
    expect(again.kind).toBe("error");
    expect(seen.requests).toBe(2);
  });
});

describe("createOpenFgaAuthorizer: a batch-check item that is not a decision", () => {
  it.each([
    ["allowed as the string 'false'", '"false"'],
    ["allowed as a number", "1"],
    ["allowed as an object", "{}"],
  ])("reports %s as error 'malformed_answer', never allowed", async (_name, allowed) => {
    const { client } = await answering(`{"result":{"0":{"allowed":${allowed}}}}`, "application/json");
    const authorizer = createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } });
    const [decision] = await authorizer.batchCheck([ALICE_EDITS_P1]);
    expect(decision?.kind).toBe("error");
    expect(decision?.kind === "error" && decision.reason).toBe("malformed_answer");
    expect(authorizer.cached?.(ALICE_EDITS_P1)).toBeUndefined();
  });

  // The SDK's batchCheck reads a missing `allowed` as false (`result.allowed || false`): these items
  // would otherwise be recorded as denials.
  it.each([
    ["an empty item", "{}"],
    ["allowed as null", '{"allowed":null}'],
    ["an error without a code", '{"error":{}}'],
  ])("reports %s as error 'malformed_answer', never denied", async (_name, item) => {
    const { client } = await answering(`{"result":{"0":${item}}}`, "application/json");
    const authorizer = createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } });
    const [decision] = await authorizer.batchCheck([ALICE_EDITS_P1]);
    expect(decision?.kind === "error" && decision.reason).toBe("malformed_answer");
    expect(authorizer.cached?.(ALICE_EDITS_P1)).toBeUndefined();
  });

  it("reports a batch answer without results as error 'malformed_answer' for every check", async () => {
    const { client } = await answering("<html>gateway</html>", "text/html");
    const authorizer = createOpenFgaAuthorizer({ client });
    const decisions = await authorizer.batchCheck([
      ALICE_EDITS_P1,
      { ...ALICE_EDITS_P1, object: "project:p-2" },
    ]);
    expect(decisions.map((d) => d.kind === "error" && d.reason)).toEqual([
      "malformed_answer",
      "malformed_answer",
    ]);
  });

  it("still answers the well-formed items of the batch", async () => {
    const { client } = await answering(
      '{"result":{"0":{"allowed":"false"},"1":{"allowed":true},"2":{"allowed":false}}}',
      "application/json",
    );
    const authorizer = createOpenFgaAuthorizer({ client });
    const decisions = await authorizer.batchCheck([
      ALICE_EDITS_P1,
      { ...ALICE_EDITS_P1, object: "project:p-2" },
      { ...ALICE_EDITS_P1, object: "project:p-3" },
    ]);
    expect(decisions.map((d) => d.kind)).toEqual(["error", "allowed", "denied"]);
  });
});
