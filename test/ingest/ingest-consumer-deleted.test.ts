// `grpc-audit ingest` whose consumer is deleted while it runs, against a real nats-server: every
// later fetch would fail the same, so it exits 1 naming the consumer, for its supervisor to start it
// again (which creates the consumer anew), rather than report the same error every second for good.

import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { tempDir } from "../cli/helpers.js";
import { freshStream, startIngest, until, useIngestNats } from "./fleet.js";

const suite = useIngestNats();

describe("grpc-audit ingest whose consumer is deleted", () => {
  it("exits 1 naming the consumer", async () => {
    const { stream } = await freshStream(suite.nc);
    const run = startIngest(suite.nats.url, stream, join(tempDir(), "audit.db"));
    try {
      await until(() => run.out.stderr.includes("(Ctrl-C to stop)"), "ingest started");
      await (await jetstreamManager(suite.nc)).consumers.delete(stream, "ingest");
      // until() gives up after 20 s: without the exit, the command never ends.
      await until(() => run.child.exitCode !== null, "the command ended");
      expect(await run.exited).toStrictEqual({ code: 1, signal: null });
      expect(run.out.stderr).toMatch(
        new RegExp(
          `ingest: stopped\\nerror: nats ${stream}/ingest: fetch failed: consumer "ingest" of stream "${stream}" no longer exists \\(deleted\\); restart ingest to create it again\\n$`,
        ),
      );
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});
