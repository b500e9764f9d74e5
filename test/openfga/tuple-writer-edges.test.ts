// The audited tuple writer at its edges, against the OpenFGA stand-in over real HTTP (and a loopback
// HTTP server for answers the stand-in does not give): malformed tuples in a batch, OpenFGA's error
// codes, the SDK's retries and transport failures.
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { FgaApiValidationError, type OpenFgaClient } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAuditedTupleWriter } from "../../src/openfga/index.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";

const BOB_VIEWS_P1 = { user: "user:bob", relation: "viewer", object: "project:p-1" };
const CAROL_VIEWS_P1 = { user: "user:carol", relation: "viewer", object: "project:p-1" };
const ALICE_EDITS_P1 = { user: "user:alice", relation: "editor", object: "project:p-1" };

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn({ tuples: [ALICE_EDITS_P1] });
});
afterEach(() => standIn.close());

function writerFor(client: OpenFgaClient = standInClient(standIn)) {
  const { recorder, memory, errors } = fixedRecorder();
  const writer = createAuditedTupleWriter({ client, recorder });
  return { writer, memory, errors, client };
}

/** The recorded tuples of every TUPLE_CHANGED event, flattened. */
function recordedTuples(memory: ReturnType<typeof fixedRecorder>["memory"]) {
  return memory.events.flatMap((event) =>
    event.detail?.$case === "tupleChange"
      ? event.detail.value.tuples.map(({ user, relation, object, success, errorReason }) => ({
          user,
          relation,
          object,
          success,
          errorReason,
        }))
      : [],
  );
}

describe("audited tuple writer: malformed tuples in a batch", () => {
  it("records the tuples a non-transactional write really wrote when another tuple of the batch is malformed", async () => {
    const { writer, memory } = writerFor();
    const malformed = { user: "", relation: "viewer", object: "project:p-1" };
    const response = await writer.write(
      { writes: [BOB_VIEWS_P1, malformed, CAROL_VIEWS_P1] },
      { transaction: { disable: true } },
    );
    // OpenFGA wrote bob and carol; only the malformed tuple failed.
    expect(response.writes.map((w) => w.status)).toStrictEqual(["success", "failure", "success"]);
    expect(standIn.tuples()).toStrictEqual([ALICE_EDITS_P1, BOB_VIEWS_P1, CAROL_VIEWS_P1]);
    // Both real changes must be in the audit trail, with their outcome.
    expect(recordedTuples(memory)).toStrictEqual([
      { ...BOB_VIEWS_P1, success: true, errorReason: "" },
      {
        user: "(invalid)",
        relation: "viewer",
        object: "project:p-1",
        success: false,
        errorReason: "validation_error",
      },
      { ...CAROL_VIEWS_P1, success: true, errorReason: "" },
    ]);
  });

  it("records a refused write of a malformed tuple as failed instead of dropping the event", async () => {
    const { writer, memory } = writerFor();
    const error = await writer
      .writeTuples([{ user: "user:bob", relation: "", object: "project:p-1" }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FgaApiValidationError);
    expect(memory.events).toHaveLength(1);
    expect(recordedTuples(memory)).toMatchObject([{ success: false, errorReason: "validation_error" }]);
  });

  it("rejects with the SDK's own error when a tuple of the call is null, not a TypeError of the writer", async () => {
    const { writer, client } = writerFor();
    const tuples = [BOB_VIEWS_P1, null] as never[];
    const direct = await client.writeTuples(tuples).catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(FgaApiValidationError);
    const audited = await writer.writeTuples(tuples).catch((e: unknown) => e);
    expect(audited).toBeInstanceOf(FgaApiValidationError);
  });

  it("resolves with the SDK's response when a null tuple fails alone in non-transactional mode", async () => {
    const { writer, memory } = writerFor();
    const result = await writer
      .writeTuples([BOB_VIEWS_P1, null] as never[], { transaction: { disable: true } })
      .then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
    expect(result).not.toHaveProperty("error");
    // bob was written and must be recorded.
    expect(standIn.tuples()).toContainEqual(BOB_VIEWS_P1);
    expect(recordedTuples(memory)).toEqual(
      expect.arrayContaining([expect.objectContaining({ ...BOB_VIEWS_P1, success: true })]),
    );
  });
});

describe("audited tuple writer: error codes", () => {
  it("records OpenFGA's own code for a 409 conflict, not the SDK's class name", async () => {
    // OpenFGA answers a transactional write that lost a race with 409 and its error body.
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(409, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: "transaction_conflict", message: "transactional write failed" }));
      });
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const { port } = server.address() as AddressInfo;
      const client = standInClient(standIn, { apiUrl: `http://127.0.0.1:${port}` });
      const { writer, memory } = writerFor(client);
      await expect(writer.writeTuples([BOB_VIEWS_P1])).rejects.toMatchObject({ statusCode: 409 });
      expect(recordedTuples(memory)).toMatchObject([{ success: false, errorReason: "transaction_conflict" }]);
      expect(memory.events[0]?.result).toStrictEqual({ success: false, code: "ABORTED", message: "" });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("audited tuple writer: SDK retries and transport failures", () => {
  it("records one successful event when the SDK retried a 503 internally", async () => {
    standIn.inject({ endpoint: "write", status: 503, times: 2 });
    const { writer, memory } = writerFor(
      standInClient(standIn, { retryParams: { maxRetry: 3, minWaitInMs: 1 } }),
    );
    await writer.writeTuples([BOB_VIEWS_P1]);
    expect(standIn.counts.write).toBe(3);
    expect(memory.events).toHaveLength(1);
    expect(recordedTuples(memory)).toStrictEqual([{ ...BOB_VIEWS_P1, success: true, errorReason: "" }]);
  });

  it("records a dropped connection as an unknown outcome, once, after the SDK's retries", async () => {
    // The stand-in drops the connection after reading the request: a real server may have applied it.
    standIn.inject({ endpoint: "write", reset: true });
    const { writer, memory } = writerFor(
      standInClient(standIn, { retryParams: { maxRetry: 1, minWaitInMs: 1 } }),
    );
    await expect(writer.deleteTuples([ALICE_EDITS_P1])).rejects.toMatchObject({ name: "FgaError" });
    expect(standIn.counts.write).toBe(2);
    expect(recordedTuples(memory)).toStrictEqual([
      { ...ALICE_EDITS_P1, success: false, errorReason: "unknown_outcome" },
    ]);
  });
});
