// `batchCheck` with many requests whose fields are not strings (ids given as numbers): each is asked
// alone, as `check` asks it, so that it cannot fail the batch's other checks; and one at a time, so
// that many of them do not become a burst of simultaneous requests (300 made 187 open at once). The
// real @openfga/sdk client speaks to the loopback OpenFGA stand-in through a pass-through server that
// counts the requests open at once.
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { CheckRequest } from "../../src/authz/authorizer.js";
import { createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";

let standIn: OpenFgaStandIn;
let counter: Server;
let open = 0;
let mostOpen = 0;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({
    tuples: [{ user: "user:bob", relation: "viewer", object: "project:p-1" }],
  });
  const target = new URL(standIn.url);
  open = 0;
  mostOpen = 0;
  counter = createServer((req, res) => {
    open++;
    mostOpen = Math.max(mostOpen, open);
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on("end", () => open--);
      },
    );
    req.pipe(upstream);
  });
  counter.listen(0, "127.0.0.1");
  await once(counter, "listening");
});
afterEach(async () => {
  counter.closeAllConnections();
  counter.close();
  await standIn.close();
});

it("asks requests whose fields are not strings one at a time, beside the batch of the others", async () => {
  const client = standInClient(standIn, {
    apiUrl: `http://127.0.0.1:${(counter.address() as AddressInfo).port}`,
  });
  const authorizer = createOpenFgaAuthorizer({ client });
  const numeric = Array.from({ length: 20 }, (_, i) => ({ user: "user:bob", relation: "viewer", object: i }));
  const requests = [
    { user: "user:bob", relation: "viewer", object: "project:p-1" },
    ...numeric,
  ] as CheckRequest[];

  const decisions = await authorizer.batchCheck(requests);
  expect(decisions[0]).toStrictEqual({ kind: "allowed", cacheHit: false });
  expect(decisions.slice(1).map((d) => d.kind)).toStrictEqual(numeric.map(() => "error"));
  expect(standIn.counts).toMatchObject({ check: 20, "batch-check": 1 });
  // The batch and one lone request at most.
  expect(mostOpen).toBeLessThanOrEqual(2);
});
