/**
 * A real nats-server (JetStream on) for the test file or describe block that calls `useNatsServer`,
 * with a connection to it: started before its tests, closed after them. Apart from nats-server.ts,
 * which the benchmarks import too, because this one registers vitest hooks.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll } from "vitest";
import { type NatsServer, startNatsServer } from "./nats-server.js";

/** Registers the hooks; the returned function gives the connection inside tests. */
export function useNatsServer(): () => NatsConnection {
  let server: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });
  return () => {
    if (nc === undefined) throw new Error("the nats-server of this suite is not started");
    return nc;
  };
}
