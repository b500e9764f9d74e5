// `grpc-audit ingest` stopped by a signal, as a child process: during a connect to a NATS server that
// accepts TCP but never speaks (no INFO), SIGTERM exits 0 at once, not after the client's 20 s
// connect timeout (nor never, for the socket the client leaves open); SIGHUP stops it like SIGTERM.
import { once } from "node:events";
import net from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../cli/helpers.js";
import { freshStream, startIngest, until, useIngestNats } from "./fleet.js";

const suite = useIngestNats();

/** Resolves to "still running" after `ms`: a guard far below the client's 20 s connect timeout. */
const guard = (ms: number) =>
  new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), ms).unref());

describe("grpc-audit ingest stopped by a signal", () => {
  it("exits 0 on SIGTERM while connecting to a NATS server that never answers", async () => {
    const accepted: net.Socket[] = [];
    const silent = net.createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    const connected = once(silent, "connection");
    const run = startIngest(`nats://127.0.0.1:${port}`, "AUDIT", join(tempDir(), "audit.db"));
    try {
      await connected;
      run.child.kill("SIGTERM");
      const ended = await Promise.race([run.exited, guard(10_000)]);
      expect([ended, run.out.stderr]).toStrictEqual([
        { code: 0, signal: null },
        "ingest: stopped before ingesting\n",
      ]);
    } finally {
      run.child.kill("SIGKILL");
      for (const socket of accepted) socket.destroy();
      silent.close();
    }
  });

  it("finishes and exits 0 on SIGHUP, as on SIGTERM", async () => {
    const { stream } = await freshStream(suite.nc);
    const run = startIngest(suite.nats.url, stream, join(tempDir(), "audit.db"));
    await until(() => run.out.stderr.includes("(Ctrl-C to stop)"), "ingest started");
    run.child.kill("SIGHUP");
    expect(await run.exited).toStrictEqual({ code: 0, signal: null });
    expect(run.out.stderr).toMatch(/ingest: stopped\n$/);
  });
});
