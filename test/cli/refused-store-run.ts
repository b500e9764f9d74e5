// What the tests of refused store values share: a real nats-server with a stream to ingest from (so an
// `ingest` that is not refused would start), and a run that ends whatever the command does.
import { once } from "node:events";
import { connect } from "@nats-io/transport-node";
import { afterAll, beforeAll } from "vitest";
import { ensureAuditStream } from "../../src/nats/index.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { BUILD_TIMEOUT_MS, type CliRun, ensureBuilt, startCli } from "./helpers.js";

/** A nats-server with the stream "S" for the file's tests, and the CLI built; the server's URL. */
export function useIngestStream(): () => string {
  let nats: NatsServer | undefined;
  beforeAll(async () => {
    const [server] = await Promise.all([startNatsServer(), ensureBuilt()]);
    nats = server;
    const nc = await connect({ servers: nats.url });
    try {
      await ensureAuditStream(nc, { name: "S", subjects: ["audit.>"] });
    } finally {
      await nc.close();
    }
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await nats?.stop();
  });
  return () => nats?.url ?? "";
}

/**
 * Runs the command in `cwd` until it exits; one that starts after all (ingest printed its banner, the
 * demo or ui its address) is stopped with SIGINT, so that the test fails on what it printed, not by hanging.
 */
export async function runToEnd(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<CliRun> {
  const child = startCli(args, { cwd, env });
  const run: CliRun = { code: null, stdout: "", stderr: "" };
  const stopOnceStarted = () => {
    if (/ingesting from|http:\/\//.test(run.stdout + run.stderr)) child.kill("SIGINT");
  };
  child.stdout.on("data", (chunk: Buffer) => {
    run.stdout += chunk.toString();
    stopOnceStarted();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    run.stderr += chunk.toString();
    stopOnceStarted();
  });
  const [code] = await once(child, "close");
  run.code = code as number | null;
  return run;
}
