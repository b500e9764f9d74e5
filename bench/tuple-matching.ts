// How the audited tuple writer's matching of per-tuple results grows with the size of a
// non-transactional write: n and 10·n copies of one tuple, answered at once by a client that lists the
// caller's own tuple objects (as the SDK does), or copies of them in reverse order (matched by content).
// Linear matching takes about 10× as long for 10× the tuples; matching that copies a list or shifts an
// array per result takes about 100×. `npm run bench:build && node dist-bench/bench/tuple-matching.js`.
import type { ClientWriteResponse, OpenFgaClient, TupleKey } from "@openfga/sdk";
import { createAuditedTupleWriter } from "../src/openfga/index.js";
import type { TupleChangeInput } from "../src/recorder/inputs.js";
import { median, spread, writeResults } from "./results.js";

const SMALL = Number(process.env.BENCH_TUPLES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BOB_VIEWS_P1 = { user: "user:bob", relation: "viewer", object: "project:p-1" };

/** A client answering a non-transactional write at once, every other tuple failed. */
function clientAnswering(copies: boolean): OpenFgaClient {
  const writeTuples = async (written: TupleKey[]): Promise<ClientWriteResponse> => {
    const keys = copies ? written.map((tuple) => ({ ...tuple })).reverse() : written;
    return {
      writes: keys.map((tuple_key, i) =>
        i % 2 === 0
          ? { tuple_key, status: "success" as never }
          : { tuple_key, status: "failure" as never, err: new Error("refused") },
      ),
      deletes: [],
    };
  };
  return { write: writeTuples, writeTuples } as unknown as OpenFgaClient;
}

let recorded = 0; // consumed, so the matching cannot be dropped
const recorder = {
  recordTupleChange(input: TupleChangeInput) {
    recorded += input.tuples.length;
    return "accepted" as const;
  },
};

/** Ms to write and record `n` copies of one tuple. */
async function writeMs(n: number, copies: boolean): Promise<number> {
  const writer = createAuditedTupleWriter({ client: clientAnswering(copies), recorder });
  const tuples: TupleKey[] = Array.from({ length: n }, () => ({ ...BOB_VIEWS_P1 }));
  const before = recorded;
  const started = performance.now();
  await writer.writeTuples(tuples, { transaction: { disable: true } });
  const ms = performance.now() - started;
  if (recorded - before !== n) throw new Error(`recorded ${recorded - before} of ${n} tuples`);
  return ms;
}

const table = [];
for (const copies of [false, true]) {
  const variant = copies ? "copies-reversed" : "own-objects";
  await writeMs(SMALL, copies); // warm-up
  const small: number[] = [];
  const large: number[] = [];
  // Sizes alternated, so a busy moment of the machine weighs on both.
  for (let round = 0; round < ROUNDS; round++) {
    small.push(await writeMs(SMALL, copies));
    large.push(await writeMs(SMALL * 10, copies));
  }
  const ratios = large.map((ms, i) => ms / (small[i] ?? Number.NaN));
  table.push({
    case: `TupleWriter/matchResults/${variant}`,
    [`ms for ${SMALL}`]: median(small).toFixed(1),
    [`ms for ${SMALL * 10}`]: median(large).toFixed(1),
    "× for 10× tuples": median(ratios).toFixed(1),
    "× spread": spread(ratios),
  });
}
console.log(`\nTuple writer: result matching of identical tuples, node ${process.version}, ${ROUNDS} rounds`);
console.log("linear: about 10× for 10× the tuples; quadratic: about 100×");
console.table(table);
writeResults("tuple-matching", { tuples: SMALL, rounds: ROUNDS, table });
