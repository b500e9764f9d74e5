// `grpc-audit ingest --from nats://a:4222,b:4222`: the scheme written once, as for kafka://, gives the
// NATS client each server as its own `nats://host:port` URL (it would read "a:4222,b:4222" as one
// server); each part is still checked, as a bad `--from` is a usage error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CREDENTIALS_IN_URL } from "../../src/cli/broker-access.js";
import { EXIT_USAGE } from "../../src/cli/errors.js";
import { natsServers, sourceOpener } from "../../src/cli/ingest-source.js";
import type { NatsSource } from "../../src/nats/index.js";
import { freePort } from "../helpers/free-port.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { freshStream, natsConnection } from "../ingest/fleet.js";

describe("--from nats://host:port,host:port", () => {
  it("gives the client one nats:// URL per server, with or without the scheme repeated, 4222 by default", () => {
    expect(natsServers("nats://nats-1:4223,nats-2,NATS://10.0.0.3:4224/,nats_3,[::1]:4225")).toStrictEqual([
      "nats://nats-1:4223",
      "nats://nats-2:4222",
      "nats://10.0.0.3:4224",
      "nats://nats_3:4222",
      "nats://[::1]:4225",
    ]);
  });

  const form = "must be nats://host:port or kafka://host:port (several comma-separated), got";
  it.each([
    ["nats://a:4222,b:70000", `${form} nats://a:4222,b:70000`],
    ["nats://a:4222,b:0", `${form} nats://a:4222,b:0`],
    ["nats://a:4222,", `${form} nats://a:4222,`],
    ["nats://a,kafka://b", `${form} nats://a,kafka://b`],
    ["a:4222,nats://b:4222", `${form} a:4222,nats://b:4222`],
    ["nats://a:4222,user:secret@b:4222", CREDENTIALS_IN_URL],
  ])("refuses %s as a usage error naming --from", (from, problem) => {
    expect(() => natsServers(from)).toThrow(
      expect.objectContaining({ exitCode: EXIT_USAGE, message: `option '--from <url>' ${problem}` }),
    );
  });
});

describe("ingest's NATS source opened with the scheme written once", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("connects through the second server when nothing listens at the first", async () => {
    const nc = await natsConnection(server.url);
    const { stream } = await freshStream(nc);
    await nc.close();
    const from = `nats://127.0.0.1:${await freePort()},127.0.0.1:${server.port}`;
    const opened = await sourceOpener({ from, stream, consumer: "ingest" }).open();
    try {
      const { connection } = opened.source as NatsSource;
      expect(connection.info?.port).toBe(server.port);
    } finally {
      await opened.close();
    }
  });
});
