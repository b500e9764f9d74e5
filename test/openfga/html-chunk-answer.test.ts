// A non-transactional write whose chunks are answered one by one, where a proxy in front of OpenFGA
// answers one chunk with `200 text/html` (a login page) and passes the others on: the SDK reports
// success for every chunk, but only the one the proxy answered is of unknown outcome. Every chunk is
// recorded by its own answer: the tuples OpenFGA wrote as written, the proxy's as unknown. (Before the
// fix every tuple of the call was recorded as unknown.) No OpenFGA server can run here: the real
// @openfga/sdk client speaks to a loopback proxy in front of the OpenFGA stand-in.
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuditedTupleWriter } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";

const ALICE_EDITS_P1 = { user: "user:alice", relation: "editor", object: "project:p-1" };
const BOB_VIEWS_P1 = { user: "user:bob", relation: "viewer", object: "project:p-1" };
const CAROL_VIEWS_P1 = { user: "user:carol", relation: "viewer", object: "project:p-1" };
const DAN_VIEWS_P1 = { user: "user:dan", relation: "viewer", object: "project:p-1" };
const ERIN_VIEWS_P1 = { user: "user:erin", relation: "viewer", object: "project:p-1" };

let standIn: OpenFgaStandIn;
let proxy: Server;
let proxyUrl: string;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
  const upstream = new URL(standIn.url);
  // Answers a request whose body names user:carol with a login page; passes the others on.
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (body.toString("utf8").includes('"user:carol"')) {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<html><body>Please log in to the proxy</body></html>");
        return;
      }
      const forwarded = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.end(body);
    });
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterEach(async () => {
  proxy.closeAllConnections();
  proxy.close();
  await standIn.close();
});

function setUp() {
  const { recorder, memory } = fixedRecorder();
  const invalidated: unknown[] = [];
  const authorizer = { invalidate: (_tuples: unknown, options?: unknown) => invalidated.push(options) };
  const writer = createAuditedTupleWriter({
    client: standInClient(standIn, { apiUrl: proxyUrl }),
    recorder,
    authorizer,
  });
  const outcomes = () =>
    memory.events.flatMap((event) =>
      event.detail?.$case === "tupleChange"
        ? event.detail.value.tuples.map((t) => [t.operation, t.user, t.success, t.errorReason] as const)
        : [],
    );
  return { writer, outcomes, invalidated };
}

describe("audited tuple writer: one chunk of a non-transactional write answered by an HTML page", () => {
  it("records only that chunk's tuples as unknown, the others as OpenFGA answered them", async () => {
    const { writer, outcomes, invalidated } = setUp();
    await expect(
      writer.write(
        { writes: [BOB_VIEWS_P1, CAROL_VIEWS_P1, DAN_VIEWS_P1], deletes: [ALICE_EDITS_P1] },
        { transaction: { disable: true } },
      ),
    ).resolves.toMatchObject({
      writes: [{ status: "success" }, { status: "success" }, { status: "success" }],
      deletes: [{ status: "success" }],
    });
    // OpenFGA wrote bob and dan and deleted alice's tuple; carol's chunk never reached it.
    expect(standIn.tuples()).toStrictEqual([BOB_VIEWS_P1, DAN_VIEWS_P1]);
    expect(outcomes()).toStrictEqual([
      ["TUPLE_OPERATION_WRITE", "user:bob", true, ""],
      ["TUPLE_OPERATION_WRITE", "user:carol", false, "unknown_outcome"],
      ["TUPLE_OPERATION_WRITE", "user:dan", true, ""],
      ["TUPLE_OPERATION_DELETE", "user:alice", true, ""],
    ]);
    // One tuple's outcome is unknown: the cache is still held.
    expect(invalidated).toStrictEqual([{ unknownOutcome: true }]);
  });

  it("records every tuple of the chunk the page answered as unknown, with chunks of two", async () => {
    const { writer, outcomes } = setUp();
    await writer.writeTuples([BOB_VIEWS_P1, DAN_VIEWS_P1, CAROL_VIEWS_P1, ERIN_VIEWS_P1], {
      transaction: { disable: true, maxPerChunk: 2 },
    });
    expect(standIn.tuples()).toStrictEqual([ALICE_EDITS_P1, BOB_VIEWS_P1, DAN_VIEWS_P1]);
    expect(outcomes()).toStrictEqual([
      ["TUPLE_OPERATION_WRITE", "user:bob", true, ""],
      ["TUPLE_OPERATION_WRITE", "user:dan", true, ""],
      ["TUPLE_OPERATION_WRITE", "user:carol", false, "unknown_outcome"],
      ["TUPLE_OPERATION_WRITE", "user:erin", false, "unknown_outcome"],
    ]);
  });
});
