// The NATS adapters while the path to a real nats-server is cut without a TCP reset (a loopback
// proxy that stops forwarding and closes nothing): nothing they wait for may wait for the client's
// pings (minutes) to give the connection up.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNatsBroker, ensureAuditStream } from "../../src/nats/index.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { startSilentProxy } from "../helpers/silent-proxy.js";

let server: NatsServer;

beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await server?.stop();
});

/** What `promise` settled to, or "still waiting" after 30 s. */
const settledOrStillWaiting = (promise: Promise<unknown>) =>
  Promise.race([
    promise.then(
      () => "resolved",
      (error: unknown) => `rejected: ${String(error)}`,
    ),
    new Promise((resolve) => setTimeout(() => resolve("still waiting after 30 s"), 30_000)),
  ]);

describe("createNatsBroker over a silently cut path", () => {
  it("close() gives the drain up and closes the connection it opened", async () => {
    const proxy = await startSilentProxy(server.port);
    try {
      const broker = await createNatsBroker({ servers: `nats://127.0.0.1:${proxy.port}` });
      await ensureAuditStream(broker.connection, { name: "CUT", subjects: ["cut.>"] });
      proxy.freeze();
      expect(await settledOrStillWaiting(broker.close())).toBe("resolved");
      expect(broker.connection.isClosed()).toBe(true);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
