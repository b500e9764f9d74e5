/**
 * Stopping the viewer while a request still reads the store, over a real SQLite store on a real
 * loopback port: `grpc-audit ui` closes the store as soon as `close()` resolves, so a request still
 * running (a verification reads the whole store) fails on the closed store. Nobody is left to answer:
 * that failure is no store error, and Ctrl-C must not print one.
 */
import { join } from "node:path";
import { expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { startUiServer } from "../../src/ui/ui-server.js";
import type { UiVerifyReport } from "../../src/ui/ui-source.js";
import { tempDir } from "../cli/helpers.js";
import { sampleEvents } from "../helpers/events.js";
import { emptyVerifyReport } from "./viewer.js";

/** A promise and its resolve function. */
function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

it("reports no error of a request that close() cut while it read the store", async () => {
  const store = openAuditStore({ path: join(tempDir(), "closing.db") });
  store.insert(sampleEvents());
  const asked = deferred();
  const released = deferred();
  let verifying: Promise<UiVerifyReport> | undefined;
  const errors: Error[] = [];
  const viewer = await startUiServer({
    port: 0,
    onError: (error) => errors.push(error),
    source: {
      name: "closing.db",
      query: async (filter, page) => store.query(filter, page),
      stats: async (filter) => store.stats(filter),
      // Held until the viewer and the store are closed, then it reads on, as a long verification does.
      verify: () => {
        verifying = (async () => {
          asked.resolve();
          await released.promise;
          const { lastSeq } = store.tail(0);
          return emptyVerifyReport(lastSeq);
        })();
        return verifying;
      },
    },
  });
  const answer = fetch(`${viewer.url}api/verify`).then(
    () => "answered",
    () => "cut",
  );
  await asked.promise;
  await viewer.close();
  store.close(); // what the CLI does once the viewer is closed
  released.resolve();
  await expect(verifying).rejects.toThrow("The database connection is not open");
  expect(await answer).toBe("cut");
  // Every step the request's handler takes after the failed read is queued before this.
  await new Promise((resolve) => setImmediate(resolve));
  expect(errors).toEqual([]);
});
