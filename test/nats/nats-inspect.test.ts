// console.log of a NATS broker or source must not print the credentials its connection was opened with.
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/index.js";
import { createNatsBroker, createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";

const PASSWORD = "NatsPassword91";
const connectOptions = { user: "audit", pass: PASSWORD };

let server: NatsServer;

beforeAll(async () => {
  server = await startNatsServer({
    config: `authorization { users = [ { user: "audit", password: "${PASSWORD}" } ] }`,
  });
});

afterAll(async () => {
  await server?.stop();
});

describe("inspecting NATS adapters opened with a password", () => {
  it("shows no password for the broker or its emitter, at default depth and at depth 6", async () => {
    const broker = await createNatsBroker({ servers: server.url, connectOptions });
    try {
      const emitter = createBrokerEmitter({ broker, topic: "audit.events" });
      expect(inspect(broker)).not.toContain(PASSWORD);
      expect(inspect(broker, { depth: 6 })).not.toContain(PASSWORD);
      expect(inspect(emitter, { depth: 6 })).not.toContain(PASSWORD);
      // The connection is still there for the application to use.
      expect(broker.connection.isClosed()).toBe(false);
    } finally {
      await broker.close();
    }
  });

  it("shows no password for the source, at default depth and at depth 6", async () => {
    const broker = await createNatsBroker({ servers: server.url, connectOptions });
    await ensureAuditStream(broker.connection, { name: "AUDIT", subjects: ["audit.>"] });
    await broker.close();
    const source = await createNatsSource({
      servers: server.url,
      connectOptions,
      stream: "AUDIT",
      consumer: "ingest",
    });
    try {
      expect(inspect(source)).not.toContain(PASSWORD);
      expect(inspect(source, { depth: 6 })).not.toContain(PASSWORD);
      expect(source.connection.isClosed()).toBe(false);
    } finally {
      await source.close();
    }
  });
});
