// NATS unreachable or refusing at start: the broker's and the source's errors name them and the
// servers (never the credentials), the client's error kept as cause; waitOnFirstConnect waits instead.

import { inspect } from "node:util";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { createBrokerSink } from "../../src/brokers/broker-sink.js";
import { AuditEmitError } from "../../src/errors/index.js";
import { createNatsBroker, createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { sampleEvent } from "../helpers/events.js";
import { freePort } from "../helpers/free-port.js";
import { startNatsServer } from "../helpers/nats-server.js";
import { readStream } from "./stream-reader.js";

const PASSWORD = "S3cretPw";

/** The rejection of `creating`. */
const refusal = (creating: Promise<unknown>): Promise<unknown> =>
  creating.then(
    () => expect.unreachable("created"),
    (error: unknown) => error,
  );

describe("opening against NATS that is down or refuses", () => {
  it("createNatsBroker names the broker and the server, not the password, when NATS is down", async () => {
    const port = await freePort();
    const error = await refusal(
      createNatsBroker({
        servers: `nats://127.0.0.1:${port}`,
        connectOptions: { user: "alice", pass: PASSWORD },
        name: "audit-nats",
      }),
    );
    expect(error).toBeInstanceOf(AuditEmitError);
    expect((error as Error).message).toBe(
      `audit-nats: connect to 127.0.0.1:${port} failed: connection refused`,
    );
    expect((error as Error).cause).toMatchObject({ name: "ConnectionError" });
    expect(inspect(error, { depth: 8 })).not.toContain(PASSWORD);
  });

  it("createNatsSource names the source and the servers, not the token, when NATS is down", async () => {
    const port = await freePort();
    const error = await refusal(
      createNatsSource({
        servers: [`127.0.0.1:${port}`],
        connectOptions: { token: PASSWORD },
        stream: "AUDIT",
        consumer: "ingest",
      }),
    );
    expect((error as Error).message).toBe(
      `nats AUDIT/ingest: open failed: connect to 127.0.0.1:${port} failed: connection refused`,
    );
    expect((error as Error).cause).toMatchObject({ name: "ConnectionError" });
    expect(inspect(error, { depth: 8 })).not.toContain(PASSWORD);
  });

  it("createNatsBroker names the broker when the server refuses the password", async () => {
    const server = await startNatsServer({ config: 'authorization { user: alice, password: "RightPw1" }' });
    try {
      const error = await refusal(
        createNatsBroker({ servers: server.url, connectOptions: { user: "alice", pass: PASSWORD } }),
      );
      expect((error as Error).message).toBe(
        `nats: connect to 127.0.0.1:${server.port} failed: Authorization Violation`,
      );
      expect(inspect(error, { depth: 8 })).not.toContain(PASSWORD);
    } finally {
      await server.stop();
    }
  });

  it("createNatsBroker with connectOptions.waitOnFirstConnect waits for NATS, then delivers", async () => {
    const server = await startNatsServer();
    await server.kill();
    let settled = false;
    const creating = createNatsBroker({
      servers: server.url,
      connectOptions: { waitOnFirstConnect: true, reconnectTimeWait: 100 },
    }).finally(() => {
      settled = true;
    });
    try {
      // Several reconnect attempts fail meanwhile; without the option the first one rejects.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(settled).toBe(false);
      await server.restart();
      const broker = await creating;
      await ensureAuditStream(broker.connection, { name: "AUDIT", subjects: ["audit.>"] });
      const event = sampleEvent();
      await createBrokerSink({ broker, topic: "audit.events" }).write([event]);
      await broker.close();
      const nc = await connect({ servers: server.url });
      expect((await readStream(nc, "AUDIT")).map((m) => m.headers["Nats-Msg-Id"])).toStrictEqual([
        event.eventId,
      ]);
      await nc.close();
    } finally {
      await server.stop();
    }
  });
});
