// A Kafka listener that resets the connection while the client's SASL handshake waits (a load balancer
// or proxy cutting it, a TLS listener given plaintext): the `@platformatic/kafka` Connection then emits
// 'error' twice, the socket's ECONNRESET and the handshake failing on close, and Node threw the second
// (no listener left), ending the process. The wire stand-in (wire-broker/) cannot show it: it answers a
// mechanism it lacks with UNSUPPORTED_SASL_MECHANISM (one error), and closes with a FIN. So the broker
// here is the smallest TCP server that does it: it resets every connection once a request arrived.
import { existsSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createKafkaBroker } from "../../src/kafka/index.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "../cli/helpers.js";

const PASSWORD = "kafka-pw-73f1e0";

interface ResettingListener {
  readonly broker: string;
  /** Connections reset so far. */
  resets: number;
  close(): Promise<void>;
}

async function startResettingListener(): Promise<ResettingListener> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.once("data", () => {
      listener.resets++;
      socket.resetAndDestroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  const listener: ResettingListener = {
    broker: `127.0.0.1:${address.port}`,
    resets: 0,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return listener;
}

let listener: ResettingListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

describe("grpc-audit ingest --from kafka:// --user … --sasl …, the broker resetting the handshake", () => {
  beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);

  it.each(["PLAIN", "SCRAM-SHA-256"])(
    "%s: the source cannot be opened: exit 1, naming the broker, no crash, no password",
    async (mechanism) => {
      listener = await startResettingListener();
      const db = join(tempDir(), "audit.db");
      const run = await runCli(
        [
          "ingest",
          ...["--from", `kafka://${listener.broker}`, "--topic", "audit-events", "--group", "ingest"],
          ...["--user", "ingest", "--sasl", mechanism, "--to", db],
        ],
        { env: { GRPC_AUDIT_BROKER_PASSWORD: PASSWORD } },
      );
      expect(listener.resets).toBeGreaterThan(0);
      expect(run.stderr).toMatch(
        new RegExp(
          `^error: kafka://${listener.broker}: joining group "ingest" on ` +
            'topic "audit-events" failed: .*ECONNRESET.*\\n$',
        ),
      );
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(`${run.stdout}${run.stderr}`).not.toContain(PASSWORD);
      expect(existsSync(db)).toBe(false); // a failed start leaves no file
    },
  );
});

describe("createKafkaBroker with SASL, the broker resetting the handshake", () => {
  it("rejects the publish; the process goes on", async () => {
    listener = await startResettingListener();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const broker = createKafkaBroker({
        bootstrapBrokers: [listener.broker],
        clientId: "projects-api",
        sasl: { mechanism: "PLAIN", username: "api", password: PASSWORD },
      });
      const publish = broker.publish("audit-events", [{ key: "k", value: new Uint8Array([1]), headers: {} }]);
      await expect(publish).rejects.toThrow(/^kafka: send to "audit-events" failed .*ECONNRESET/);
      await broker.close();
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    expect(listener.resets).toBeGreaterThan(0);
    expect(uncaught).toStrictEqual([]);
  });
});
