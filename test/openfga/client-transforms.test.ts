// A client whose requests run its own axios transforms (`baseOptions.transformRequest` signing each
// request for a gateway, a `transformResponse` of its own): the audited tuple writer watches the SDK's
// requests through transforms of its own, and must run the client's with them, not instead of them
// (its writes went out unsigned and were refused). The real @openfga/sdk client speaks to the loopback
// OpenFGA stand-in, which requires the token.
import type { UserClientConfigurationParams } from "@openfga/sdk";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { CheckRequest } from "../../src/authz/authorizer.js";
import { createAuditedTupleWriter, createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";
import { tupleOutcomes } from "./tuple-outcomes.js";

const BOB_VIEWS_P1: CheckRequest = { user: "user:bob", relation: "viewer", object: "project:p-1" };
const TOKEN = "gw-secret";

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ token: TOKEN });
});
afterEach(async () => {
  await standIn.close();
});

it("runs the client's own request and response transforms on its writes", async () => {
  const seen: string[] = [];
  const sign = (data: unknown, headers: { set(name: string, value: string): void }) => {
    headers.set("Authorization", `Bearer ${TOKEN}`);
    return data;
  };
  const parse = (data: unknown) => {
    seen.push(typeof data);
    return typeof data === "string" && data !== "" ? JSON.parse(data) : data;
  };
  const baseOptions = { transformRequest: [sign], transformResponse: [parse] };
  const client = standInClient(standIn, { baseOptions } as Partial<UserClientConfigurationParams>);
  const authorizer = createOpenFgaAuthorizer({ client });
  const { recorder, memory } = fixedRecorder();
  const writer = createAuditedTupleWriter({ client, recorder, authorizer });

  await writer.writeTuples([BOB_VIEWS_P1]);
  expect(await authorizer.check(BOB_VIEWS_P1)).toStrictEqual({ kind: "allowed", cacheHit: false });
  expect(standIn.requests.map((r) => [r.endpoint, r.authorization])).toStrictEqual([
    ["write", `Bearer ${TOKEN}`],
    ["check", `Bearer ${TOKEN}`],
  ]);
  expect(tupleOutcomes(memory)).toStrictEqual([["user:bob", true, ""]]);
  expect(seen).toStrictEqual(["string", "string"]);
});
