// The load client process: keeps `inFlight` unary calls going against one server for `durationMs`
// and reports calls/s and latency percentiles over IPC.
import { performance } from "node:perf_hooks";
import { credentials, Metadata } from "@grpc/grpc-js";
import { ProjectServiceClient } from "../../src/cli/demo/gen/example/v1/projects.js";

export interface LoadRun {
  port: number;
  inFlight: number;
  durationMs: number;
  warmupMs: number;
  /** Sent as a Bearer token with every call (ignored by variants without authn). */
  token?: string;
}

export interface LoadResult {
  calls: number;
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const clients = new Map<number, ProjectServiceClient>();
function clientFor(port: number): ProjectServiceClient {
  let client = clients.get(port);
  if (client === undefined) {
    client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    clients.set(port, client);
  }
  return client;
}

function call(client: ProjectServiceClient, metadata: Metadata): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    client.updateProject({ project: { id: "p-1", name: "bench", ownerId: "" } }, metadata, (error) =>
      error ? reject(error) : resolve(performance.now() - started),
    );
  });
}

async function run({ port, inFlight, durationMs, warmupMs, token }: LoadRun): Promise<LoadResult> {
  const client = clientFor(port);
  const metadata = new Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  const latencies: number[] = [];
  let recording = false;
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const latency = await call(client, metadata);
      if (recording) latencies.push(latency);
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  process.send?.({ measuring: true });
  await new Promise((resolve) => process.once("message", resolve)); // the server's CPU mark is set
  recording = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  recording = false;
  const elapsedMs = performance.now() - started;
  stop = true;
  await Promise.all(workers);
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return {
    calls: latencies.length,
    callsPerSec: (latencies.length / elapsedMs) * 1000,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

process.on("message", async (message: { run?: LoadRun } | string) => {
  if (typeof message === "object" && message.run !== undefined)
    process.send?.({ result: await run(message.run) });
  else if (message === "exit") {
    for (const client of clients.values()) client.close();
    process.exit(0);
  }
});
process.send?.({ ready: true });
