// An answer far larger than any OpenFGA sends (a broken proxy, a misrouted URL streaming a file) is not
// read whole: axios would buffer all of it, then the parsed JSON, per request. Past 1 MiB the answer is
// dropped as it arrives: a check or batch check is an ERROR `unavailable` (never the decision the
// oversize JSON spells), a write's outcome is unknown. The real @openfga/sdk client talks to a loopback
// HTTP server that streams a valid, padded OpenFGA answer of 64 MiB and counts what it got to send.
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { CheckRequest } from "../../src/authz/authorizer.js";
import { createAuditedTupleWriter, createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { clientOfServer } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";

const ALICE_EDITS_P1: CheckRequest = { user: "user:alice", relation: "editor", object: "project:p-1" };
const PADDING_BYTES = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, " ");

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

/**
 * A loopback server answering each request 200 with `head`, `padding` bytes of JSON whitespace (64 MiB
 * unless given), then `tail` (valid JSON in all), written as the client reads it; `sent` is how many
 * padding bytes each answer got out before the client closed the connection or the answer ended. The
 * client's `baseOptions` as given.
 */
async function oversizeAnswers(
  head: string,
  tail: string,
  { padding = PADDING_BYTES, baseOptions }: { padding?: number; baseOptions?: Record<string, unknown> } = {},
) {
  const sent: number[] = [];
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      const answer = sent.push(0) - 1;
      const count = (bytes: number) => {
        sent[answer] = (sent[answer] ?? 0) + bytes;
      };
      res.write(head);
      let left = padding;
      const more = () => {
        while (left > 0 && !res.destroyed) {
          left -= CHUNK.length;
          count(CHUNK.length);
          if (!res.write(CHUNK)) return void res.once("drain", more);
        }
        if (!res.destroyed) res.end(tail);
      };
      more();
    });
  });
  const client = await clientOfServer(server, { maxRetry: 1, baseOptions });
  return { client, sent };
}

/** Whether each answer was cut off well before its end (socket buffers hold a few MiB at most). */
const cutShort = (sent: readonly number[]) => sent.map((bytes) => bytes < PADDING_BYTES / 2);

describe("an OpenFGA answer over 1 MiB", () => {
  it("is a check's ERROR `unavailable`, not the decision it spells, each attempt cut off", async () => {
    const { client, sent } = await oversizeAnswers('{"allowed":true,"resolution":"', '"}');
    const decision = await createOpenFgaAuthorizer({ client }).check(ALICE_EDITS_P1);
    expect(decision).toMatchObject({ kind: "error", reason: "unavailable" });
    // The SDK retries a dropped answer as a network failure: its one retry is cut off as well.
    expect(cutShort(sent)).toStrictEqual([true, true]);
  });

  it("is each batch check's ERROR `unavailable`", async () => {
    const { client, sent } = await oversizeAnswers(
      '{"result":{"0":{"allowed":true,"error":{"message":"',
      '"}}}}',
    );
    const decisions = await createOpenFgaAuthorizer({ client }).batchCheck([ALICE_EDITS_P1]);
    expect(decisions).toMatchObject([{ kind: "error", reason: "unavailable" }]);
    expect(cutShort(sent)).toStrictEqual([true, true]);
  });

  it("leaves a write's outcome unknown: the write may have been applied", async () => {
    const { client, sent } = await oversizeAnswers('{"padding":"', '"}');
    const { recorder, memory } = fixedRecorder();
    const writer = createAuditedTupleWriter({ client, recorder });
    await expect(writer.writeTuples([ALICE_EDITS_P1])).rejects.toThrow("maxContentLength");
    const outcomes = memory.events.flatMap((event) =>
      event.detail?.$case === "tupleChange"
        ? event.detail.value.tuples.map((t) => [t.operation, t.success, t.errorReason])
        : [],
    );
    expect(outcomes).toStrictEqual([["TUPLE_OPERATION_WRITE", false, "unknown_outcome"]]);
    expect(cutShort(sent)).toStrictEqual([true, true]);
  });

  it("keeps a client's own stricter limit: a 600 kB answer past its 100 kB is dropped", async () => {
    const { client, sent } = await oversizeAnswers('{"allowed":true,"resolution":"', '"}', {
      padding: 600_000,
      baseOptions: { maxContentLength: 100_000 },
    });
    const decision = await createOpenFgaAuthorizer({ client }).check(ALICE_EDITS_P1);
    expect(decision).toMatchObject({ kind: "error", reason: "unavailable" });
    expect(sent).toHaveLength(2);
  });
});
