// Non-transactional writes: the SDK lists per-tuple results in completion order, each with the caller's
// own tuple object as `tuple_key`; the writer must give each tuple its own result. The OpenFGA server
// is the loopback stand-in, spoken to by the real @openfga/sdk client.
import type { ClientWriteResponse, OpenFgaClient, TupleKey } from "@openfga/sdk";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createAuditedTupleWriter } from "../../src/openfga/index.js";
import type { TupleChangeInput } from "../../src/recorder/inputs.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { fixedRecorder } from "../helpers/recorder.js";

const BOB_VIEWS_P1 = { user: "user:bob", relation: "viewer", object: "project:p-1" };

let standIn: OpenFgaStandIn;
beforeEach(async () => {
  standIn = await startOpenFgaStandIn();
});
afterEach(() => standIn.close());

/** Each recorded tuple as "condition name: outcome". */
function conditionOutcomes(memory: ReturnType<typeof fixedRecorder>["memory"]): string[] {
  return memory.events.flatMap((event) =>
    event.detail?.$case === "tupleChange"
      ? event.detail.value.tuples.map((t) => `${t.condition?.name}: ${t.success ? "ok" : t.errorReason}`)
      : [],
  );
}

describe("audited tuple writer: per-tuple results of a non-transactional write", () => {
  it("credits each result to its own tuple when two differ only in their condition and finish out of order", async () => {
    // Only one of them can be stored. The first one sent is held until the second is stored.
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    standIn.inject({ endpoint: "write", hold, times: 1 });
    const { recorder, memory } = fixedRecorder();
    const writer = createAuditedTupleWriter({ client: standInClient(standIn), recorder });
    const weekdays = { ...BOB_VIEWS_P1, condition: { name: "weekdays_only", context: { tz: "UTC" } } };
    const always = { ...BOB_VIEWS_P1, condition: { name: "always", context: {} } };
    const writing = writer.writeTuples([weekdays, always], { transaction: { disable: true } });
    await vi.waitFor(() => expect(standIn.tuples()).toHaveLength(1));
    release();
    const response = await writing;

    expect(response.writes.map((w) => `${w.tuple_key.condition?.name}: ${w.status}`)).toStrictEqual([
      "always: success",
      "weekdays_only: failure",
    ]);
    expect(standIn.tuples()).toStrictEqual([always]);
    expect(conditionOutcomes(memory)).toStrictEqual([
      "weekdays_only: write_failed_due_to_invalid_input",
      "always: ok",
    ]);
  });

  it("matches results to copies of the tuples by their content, condition included", async () => {
    // A client that answers with copies of the tuples, the last one first: "always" was stored,
    // "weekdays_only" then refused.
    const client = Object.assign(Object.create(standInClient(standIn)) as OpenFgaClient, {
      writeTuples: async (written: TupleKey[]): Promise<ClientWriteResponse> => ({
        writes: written
          .map((tuple) => structuredClone(tuple))
          .reverse()
          .map((tuple_key) =>
            tuple_key.condition?.name === "always"
              ? { tuple_key, status: "success" as never }
              : {
                  tuple_key,
                  status: "failure" as never,
                  err: Object.assign(new Error("refused"), {
                    apiErrorCode: "write_failed_due_to_invalid_input",
                  }),
                },
          ),
        deletes: [],
      }),
    });
    const { recorder, memory } = fixedRecorder();
    const writer = createAuditedTupleWriter({ client, recorder });
    await writer.writeTuples(
      [
        { ...BOB_VIEWS_P1, condition: { name: "weekdays_only", context: { tz: "UTC" } } },
        { ...BOB_VIEWS_P1, condition: { name: "always" } },
      ],
      { transaction: { disable: true } },
    );
    expect(conditionOutcomes(memory)).toStrictEqual([
      "weekdays_only: write_failed_due_to_invalid_input",
      "always: ok",
    ]);
  });

  it("records each of 1,000 copies of one tuple once, with the result of its own object, whatever their order", async () => {
    // How long the matching takes for many copies (it must grow linearly) is measured by
    // bench/tuple-matching.ts; here, which result each copy gets. The client answers as the SDK's
    // non-transactional mode does, with the caller's own tuple objects in `tuple_key`, in completion
    // order (here the reverse of the call's): the copies at even positions written, the others refused.
    const tuples: TupleKey[] = Array.from({ length: 1_000 }, () => ({ ...BOB_VIEWS_P1 }));
    const position = new Map(tuples.map((tuple, i) => [tuple, i]));
    const client = Object.assign(Object.create(standInClient(standIn)) as OpenFgaClient, {
      writeTuples: async (written: TupleKey[]): Promise<ClientWriteResponse> => ({
        writes: [...written]
          .reverse()
          .map((tuple_key) =>
            (position.get(tuple_key) ?? 1) % 2 === 0
              ? { tuple_key, status: "success" as never }
              : { tuple_key, status: "failure" as never, err: new Error("x") },
          ),
        deletes: [],
      }),
    });
    const recorded: boolean[] = [];
    const recorder = {
      recordTupleChange(input: TupleChangeInput) {
        for (const t of input.tuples) recorded.push(t.success === true);
        return "accepted" as const;
      },
    };
    const writer = createAuditedTupleWriter({ client, recorder });
    await writer.writeTuples(tuples, { transaction: { disable: true } });
    expect(recorded).toStrictEqual(tuples.map((_, i) => i % 2 === 0));
  });
});
