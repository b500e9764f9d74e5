// `grpc-audit ingest`'s NATS source when its connection is closed for good: the command must end
// (exit 1, for a supervisor to start it again) instead of printing the same error every second.
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliError, EXIT_FAILURE } from "../../src/cli/errors.js";
import { sourceOpener } from "../../src/cli/ingest-source.js";
import type { NatsSource } from "../../src/nats/index.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { freshStream, natsConnection } from "../ingest/fleet.js";

let server: NatsServer;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer();
  nc = await natsConnection(server.url);
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

const open = (stream: string) =>
  sourceOpener({ from: server.url, stream, consumer: "ingest", ackWaitMs: 30_000 }).open();

describe("ingest's NATS source, ended", () => {
  it("ends with exit 1, naming the source, when its connection is closed for good", async () => {
    const { stream } = await freshStream(nc);
    const opened = await open(stream);
    try {
      // Closed from outside the source, as the client does when it gives up reconnecting.
      await (opened.source as NatsSource).connection.close();
      const ended = await opened.ended;
      expect(ended).toBeInstanceOf(CliError);
      expect(ended?.exitCode).toBe(EXIT_FAILURE);
      expect(ended?.message).toBe(
        `nats ${stream}/ingest: connection closed for good (closed); exiting, for a supervisor to start ingest again`,
      );
    } finally {
      await opened.close();
    }
  });

  it("does not end when the command closes it", async () => {
    const { stream } = await freshStream(nc);
    const opened = await open(stream);
    await opened.close();
    expect(await opened.ended).toBeUndefined();
  });
});
