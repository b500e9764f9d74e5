// The NATS source and broker when the server refuses their credentials for a while (restarted with
// the user's password changed, then changed back): the client gives up after two authentication
// errors in a row unless told not to, and a connection closed for good must say so, naming why.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/event/index.js";
import { createNatsBroker, createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { sampleEvent } from "../helpers/events.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { until } from "../ingest/fleet.js";

const PASSWORD = "pw-ONE-111";
const OTHER_PASSWORD = "pw-TWO-222";
const usersWith = (password: string) => `authorization { user: ing, password: "${password}" }`;
const CREDENTIALS = { user: "ing", pass: PASSWORD, reconnectTimeWait: 50 } as const;

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer({ config: usersWith(PASSWORD) });
});
afterAll(async () => {
  await server?.stop();
});

/** Runs `use` on a connection of its own (the test's, not the one under test). */
async function withAdmin<T>(use: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: server.url, ...CREDENTIALS });
  try {
    return await use(nc);
  } finally {
    await nc.close();
  }
}

/** Restarts the server with `password` for the user, on the same port and store. */
async function restartWith(password: string): Promise<void> {
  await server.kill();
  writeFileSync(path.join(path.dirname(server.storeDir), "nats.conf"), `${usersWith(password)}\n`);
  await server.restart();
}

/** Counts the authentication errors `nc` gets from the server. */
function authErrors(nc: NatsConnection): () => number {
  let count = 0;
  void (async () => {
    for await (const status of nc.status())
      if (status.type === "error" && /authorization violation/i.test(status.error.message)) count++;
  })();
  return () => count;
}

/**
 * The server restarted with another password until `nc` was refused three times (or gave up), then
 * with the right one again.
 */
async function rotatePassword(nc: NatsConnection): Promise<void> {
  const refused = authErrors(nc);
  await restartWith(OTHER_PASSWORD);
  await until(() => refused() >= 3 || nc.isClosed(), "three authentication errors");
  await restartWith(PASSWORD);
}

let streams = 0;
async function freshStream(): Promise<{ stream: string; topic: string }> {
  streams++;
  const stream = `AUTH_${streams}`;
  await withAdmin((nc) => ensureAuditStream(nc, { name: stream, subjects: [`auth${streams}.>`] }));
  return { stream, topic: `auth${streams}.events` };
}

const eventId = (i: number) => `019b7ca9-8f2e-7000-8000-${i.toString(16).padStart(12, "0")}`;

describe("NATS source and broker through a password change on the server", () => {
  it("the source keeps reconnecting while refused, and fetches again once the password is back", async () => {
    const { stream, topic } = await freshStream();
    const source = await createNatsSource({
      servers: server.url,
      connectOptions: CREDENTIALS,
      stream,
      consumer: "ingest",
      ackWaitMs: 2000,
    });
    try {
      await rotatePassword(source.connection);
      await withAdmin((nc) =>
        jetstream(nc).publish(topic, encodeEvent(sampleEvent({ eventId: eventId(1) }))),
      );
      const signal = new AbortController().signal;
      let got: string[] = [];
      await until(async () => {
        const messages = await source.fetch(10, 1000, signal).catch(() => []);
        got = messages.map((m) => m.header("grpc-audit-event-id") ?? m.where);
        await source.ack(messages);
        return messages.length > 0;
      }, "a message fetched after the password came back");
      expect(got).toHaveLength(1);
      expect(source.connection.isClosed()).toBe(false);
    } finally {
      await source.close();
    }
  }, 60_000);

  it("the broker keeps reconnecting while refused, and publishes again once the password is back", async () => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({ servers: server.url, stream, connectOptions: CREDENTIALS });
    try {
      await rotatePassword(broker.connection);
      await until(async () => {
        const sent = await broker
          .publish(topic, [{ key: eventId(2), value: new Uint8Array([1]), headers: {} }])
          .then(
            () => true,
            () => false,
          );
        return sent;
      }, "a publish acknowledged after the password came back");
      expect(broker.connection.isClosed()).toBe(false);
    } finally {
      await broker.close();
    }
  }, 60_000);

  it("a source whose connection was closed for good fails each fetch, naming itself and why, never the password", async () => {
    const { stream } = await freshStream();
    const source = await createNatsSource({
      servers: server.url,
      // The client's own policy: give up after two authentication errors in a row.
      connectOptions: { ...CREDENTIALS, ignoreAuthErrorAbort: false },
      stream,
      consumer: "ingest",
    });
    try {
      await rotatePassword(source.connection);
      await until(() => source.connection.isClosed(), "the connection closed for good");
      const error = await source.fetch(10, 1000, new AbortController().signal).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^nats ${stream}/ingest: fetch failed: connection closed for good \\(.*authorization violation.*\\); open the source again$`,
          "i",
        ),
      );
      expect((error as Error).message).not.toMatch(/pw-/);
      await expect(source.ack([])).rejects.toThrow(
        `nats ${stream}/ingest: acks of 0 messages not sent: connection closed for good`,
      );
    } finally {
      await source.close();
    }
  }, 60_000);

  it("a broker whose connection was closed for good rejects each publish with 'connection closed' and why", async () => {
    const { stream, topic } = await freshStream();
    const broker = await createNatsBroker({
      servers: server.url,
      stream,
      name: "nats-auth",
      connectOptions: { ...CREDENTIALS, ignoreAuthErrorAbort: false },
    });
    try {
      await rotatePassword(broker.connection);
      await until(() => broker.connection.isClosed(), "the connection closed for good");
      const error = await broker
        .publish(topic, [{ key: eventId(3), value: new Uint8Array([1]), headers: {} }])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((error as Error).message).toMatch(
        new RegExp(
          `^nats-auth: publish to "${topic}" failed: connection closed: .*authorization violation.*; it is not made again`,
          "i",
        ),
      );
      expect((error as Error).message).not.toMatch(/pw-/);
    } finally {
      await broker.close();
    }
  }, 60_000);
});
