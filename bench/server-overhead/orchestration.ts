// What both server benchmarks (server-overhead.ts and server-instructions.ts) set up around the servers
// they start: the full chain's key, token and OpenFGA stand-in, and cleanup of their child processes.
import type { ChildProcess } from "node:child_process";
import { newSigningKey, signToken } from "../../test/helpers/jwt.js";
import { startOpenFgaStandIn } from "../../test/helpers/openfga-stand-in.js";
import type { FullChainSetup } from "./server.js";

/**
 * The full chain's surroundings: an RS256 key whose JWKS the server trusts, a token for the load client,
 * and the OpenFGA stand-in (in the orchestrator, so its CPU is not counted as the server's) holding the
 * tuple the benchmark calls need.
 */
export async function startFullChainSetup() {
  const key = await newSigningKey("bench", "RS256");
  const token = await signToken(key, { sub: "alice", exp: Math.floor(Date.now() / 1000) + 3600 });
  const standIn = await startOpenFgaStandIn({
    tuples: [{ user: "user:alice", relation: "editor", object: "project:p-1" }],
  });
  const setup: FullChainSetup = {
    jwks: key.jwks,
    openFgaUrl: standIn.url,
    storeId: standIn.storeId,
    modelId: standIn.modelId,
  };
  return { token, setup, standIn };
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of children) child.kill();
});

/** Kills `child` when the orchestrator exits, also after a crash (a server under valgrind runs on). */
export function killOnExit(child: ChildProcess): void {
  children.add(child);
}

/** A child's IPC message. */
export type Message = Record<string, unknown>;

/** Resolves with the child's next IPC message that has `key`. */
export function nextMessage<T extends Message>(child: ChildProcess, key: string): Promise<T> {
  return new Promise<T>((resolve) => {
    const onMessage = (message: Message) => {
      if (typeof message === "object" && message !== null && key in message) {
        child.off("message", onMessage);
        resolve(message as T);
      }
    };
    child.on("message", onMessage);
  });
}
