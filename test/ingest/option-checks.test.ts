// createIngester checks its option names, and refuses delays a Node timer cannot hold (one above
// 2^31 - 1 ms fires after 1 ms: a failing store was retried in a tight loop).
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createIngester, type IngesterOptions } from "../../src/ingest/index.js";
import type { SourceMessage } from "../../src/ingest/source.js";

const source = {
  name: "s",
  // An empty batch on a later turn, as a broker that has nothing: the ingester never spins.
  fetch: () => new Promise<never[]>((resolve) => setImmediate(() => resolve([]))),
  ack: async () => {},
  retry: async () => {},
  deadLetter: async () => {},
  lag: () => undefined,
};
const store = { insert: () => 0 };

describe("createIngester option checks", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "a misspelt option",
      { batchsize: 10 },
      "ingester: unknown option `batchsize` (did you mean `batchSize`?)",
    ],
    [
      "a retry delay longer than a timer holds",
      { retryDelayMs: 2 ** 31 },
      "ingester: `retryDelayMs` must be an integer of ms from 1 to 2147483647 (what a timer holds), got 2147483648",
    ],
    [
      "a batch wait longer than a timer holds",
      { maxWaitMs: 2 ** 31 },
      "ingester: `maxWaitMs` must be an integer of ms from 1 to 2147483647 (what a timer holds), got 2147483648",
    ],
  ];
  for (const [what, extra, message] of cases) {
    it(`refuses ${what}`, async () => {
      let error: unknown;
      try {
        // Stopped at once if it was made: it would retry at once, not after the delay.
        await createIngester({ source, store, ...extra } as IngesterOptions<SourceMessage>).stop();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(AuditConfigError);
      expect((error as Error).message).toBe(message);
    });
  }

  it("takes the longest delays a timer holds", async () => {
    const ingester = createIngester({ source, store, retryDelayMs: 2 ** 31 - 1, maxWaitMs: 2 ** 31 - 1 });
    await ingester.stop();
  });
});
