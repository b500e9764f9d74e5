// A proxy in front of OpenFGA that answers a write with `200 text/html` (a login page) instead of
// passing it on: the SDK reports success for any 2xx, but OpenFGA never saw the write, so the tuples must
// be recorded with an unknown outcome (and the decision cache held), never as written. The real
// @openfga/sdk client speaks to a loopback HTTP server that plays the proxy.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckRequest } from "../../src/authz/authorizer.js";
import { createAuditedTupleWriter } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";

const BOB_VIEWS_P1: CheckRequest = { user: "user:bob", relation: "viewer", object: "project:p-1" };

let standIn: OpenFgaStandIn;
let portal: Server;
let portalUrl: string;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn();
  portal = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body>Please log in to the proxy</body></html>");
    });
  });
  portal.listen(0, "127.0.0.1");
  await once(portal, "listening");
  portalUrl = `http://127.0.0.1:${(portal.address() as AddressInfo).port}`;
});
afterEach(async () => {
  portal.closeAllConnections();
  portal.close();
  await standIn.close();
});

function setUp(apiUrl: string) {
  const { recorder, memory } = fixedRecorder();
  const invalidated: unknown[] = [];
  const authorizer = { invalidate: (_tuples: unknown, options?: unknown) => invalidated.push(options) };
  const writer = createAuditedTupleWriter({
    client: standInClient(standIn, { apiUrl }),
    recorder,
    authorizer,
  });
  const outcomes = () =>
    memory.events.flatMap((event) =>
      event.detail?.$case === "tupleChange"
        ? event.detail.value.tuples.map((t) => [t.operation, t.success, t.errorReason] as const)
        : [],
    );
  return { writer, outcomes, invalidated };
}

describe("audited tuple writer: a 2xx answer that is not OpenFGA's", () => {
  it("records a transactional write and delete answered by an HTML page as unknown, and holds the cache", async () => {
    const { writer, outcomes, invalidated } = setUp(portalUrl);
    // The writer passes on what the SDK did: it resolves, as the SDK does.
    await expect(writer.writeTuples([BOB_VIEWS_P1])).resolves.toMatchObject({
      writes: [{ status: "success" }],
    });
    await writer.deleteTuples([BOB_VIEWS_P1]);
    expect(outcomes()).toStrictEqual([
      ["TUPLE_OPERATION_WRITE", false, "unknown_outcome"],
      ["TUPLE_OPERATION_DELETE", false, "unknown_outcome"],
    ]);
    expect(invalidated).toStrictEqual([{ unknownOutcome: true }, { unknownOutcome: true }]);
  });

  it("records a non-transactional write answered by an HTML page as unknown", async () => {
    const { writer, outcomes } = setUp(portalUrl);
    await writer.writeTuples([BOB_VIEWS_P1], { transaction: { disable: true } });
    expect(outcomes()).toStrictEqual([["TUPLE_OPERATION_WRITE", false, "unknown_outcome"]]);
  });

  it("records a write OpenFGA answered with its JSON as written", async () => {
    const { writer, outcomes, invalidated } = setUp(standIn.url);
    await writer.writeTuples([BOB_VIEWS_P1]);
    expect(standIn.tuples()).toStrictEqual([BOB_VIEWS_P1]);
    expect(outcomes()).toStrictEqual([["TUPLE_OPERATION_WRITE", true, ""]]);
    expect(invalidated).toStrictEqual([undefined]);
  });
});
