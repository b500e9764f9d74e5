// `grpc-audit ingest` against secured brokers. NATS: a real nats-server that requires TLS with a client
// certificate and a user's password (a CA and certificates made with openssl for each run). Kafka: no
// broker runs here, so a loopback TLS stand-in checks that the Kafka client arrives over TLS, presents
// the client certificate and speaks Kafka; the SASL options the CLI builds are checked as options.
import { once } from "node:events";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createServer, type TLSSocket } from "node:tls";
import { connect, type NodeConnectionOptions } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { brokerAccess, PASSWORD_ENV } from "../../src/cli/broker-access.js";
import { kafkaOptions, type SourceFlags } from "../../src/cli/ingest-source.js";
import { createNatsBroker } from "../../src/nats/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { recordMutations } from "../chain/trail.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, startCli, tempDir } from "../cli/helpers.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { makeTestCertificates, type TestCertificates } from "../helpers/tls-certs.js";
import { freshStream, until } from "./fleet.js";

const PASSWORD = `pw-${process.pid}-${Date.now()}`;
let certs: TestCertificates;
let nats: NatsServer;
let secured: Omit<NodeConnectionOptions, "servers">;

beforeAll(async () => {
  certs = makeTestCertificates();
  const [server] = await Promise.all([
    startNatsServer({
      config: [
        `tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "${certs.caCert}", verify: true }`,
        `authorization { user: alice, password: "${PASSWORD}" }`,
      ].join("\n"),
    }),
    ensureBuilt(),
  ]);
  nats = server;
  secured = {
    tls: { caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey },
    user: "alice",
    pass: PASSWORD,
  };
}, BUILD_TIMEOUT_MS);
afterAll(async () => {
  await nats?.stop();
});

const tlsFlags = () => [
  "--tls-ca",
  certs.caCert,
  "--tls-cert",
  certs.clientCert,
  "--tls-key",
  certs.clientKey,
];

/** A stream on the secured server holding `count` recorded mutations. */
async function securedStream(count: number): Promise<string> {
  const nc = await connect({ servers: nats.url, ...secured });
  const { stream, topic } = await freshStream(nc);
  await nc.close();
  const broker = await createNatsBroker({ servers: nats.url, connectOptions: secured });
  const recorder = createRecorder({
    service: "projects",
    emitters: [createBrokerEmitter({ broker, topic })],
  });
  recordMutations(recorder, count);
  expect((await recorder.close()).ok).toBe(true);
  await broker.close();
  return stream;
}

const ingestArgs = (stream: string, db: string, ...extra: string[]) => [
  "ingest",
  "--from",
  nats.url,
  "--stream",
  stream,
  "--consumer",
  "ingest",
  "--to",
  db,
  "--progress-ms",
  "100",
  ...extra,
];

describe("grpc-audit ingest from a secured NATS", () => {
  it("stores every event from a server that requires TLS, a client certificate and a password", async () => {
    const stream = await securedStream(30);
    const db = join(tempDir(), "secured.db");
    const child = startCli(ingestArgs(stream, db, ...tlsFlags(), "--user", "alice"), {
      env: { [PASSWORD_ENV]: PASSWORD },
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = once(child, "close");
    await until(() => stderr.includes("30 inserted"), "every event stored");
    child.kill("SIGTERM");
    expect((await exited)[0]).toBe(0);
    expect(stderr).not.toContain(PASSWORD);
    const stats = await runCli(["stats", "--db", db, "--json"]);
    expect(JSON.parse(stats.stdout).total).toBe(30);
  });

  it.each([
    [
      "a wrong password",
      () => [...tlsFlags(), "--user", "alice"],
      "wrong-password",
      /Authorization Violation/i,
    ],
    [
      "no TLS material: the system's CAs",
      () => ["--user", "alice"],
      PASSWORD,
      /unable to verify the first certificate/,
    ],
  ])("refuses %s: exit 1, naming the broker, never the password", async (_name, flags, password, why) => {
    const run = await runCli(ingestArgs("S", join(tempDir(), "never.db"), ...flags()), {
      env: { [PASSWORD_ENV]: password },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: nats://127\\.0\\.0\\.1:${nats.port}: nats S/`));
    expect(run.stderr).toMatch(why);
    expect(run.stderr).not.toContain(password);
    expect(run.stdout).toBe("");
  });
});

describe("grpc-audit ingest: the access flags' usage errors (exit 2, before anything opens)", () => {
  const nats4222 = ["ingest", "--from", "nats://n:4222", "--stream", "S", "--consumer", "C", "--to", "x.db"];
  const kafka = ["ingest", "--from", "kafka://k:9092", "--topic", "t", "--group", "g", "--to", "x.db"];
  it.each([
    [[...nats4222, "--tls-cert", "c.pem"], {}, /option '--tls-key <file>' is required with --tls-cert/],
    [[...nats4222, "--tls-key", "k.pem"], {}, /option '--tls-cert <file>' is required with --tls-key/],
    [
      [...nats4222, "--tls-ca", "/no/such/ca.pem"],
      {},
      /option '--tls-ca <file>' cannot read "\/no\/such\/ca.pem" \(ENOENT\)/,
    ],
    [
      [...nats4222, "--tls-ca", "package.json"],
      {},
      /option '--tls-ca <file>' "package.json" is not a PEM file/,
    ],
    [
      [...nats4222, "--user", "alice"],
      {},
      new RegExp(`option '--user <name>' needs the password in the environment variable ${PASSWORD_ENV}`),
    ],
    [[...nats4222, "--sasl", "PLAIN"], {}, /option '--sasl <mechanism>' is not for nats:\/\//],
    [
      [...kafka, "--user", "alice"],
      { [PASSWORD_ENV]: "x" },
      /option '--sasl <mechanism>' is required with --user for kafka:\/\//,
    ],
    [[...kafka, "--sasl", "PLAIN"], {}, /option '--user <name>' is required with --sasl/],
    [
      [...kafka, "--user", "a", "--sasl", "MD5"],
      { [PASSWORD_ENV]: "x" },
      /option '--sasl <mechanism>' must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, got "MD5"/,
    ],
  ])("%j", async (args, env, message) => {
    const run = await runCli(args, { env: { [PASSWORD_ENV]: "", ...env } });
    expect(run.stderr).toMatch(message);
    expect(run.code).toBe(2);
  });

  it("refuses credentials in a nats:// URL without repeating them", async () => {
    const run = await runCli([
      "ingest",
      "--from",
      "nats://alice:hunter2@127.0.0.1:4222",
      "--stream",
      "S",
      "--consumer",
      "C",
      "--to",
      "x.db",
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`must not hold credentials .*use --user and ${PASSWORD_ENV}`));
    expect(run.stderr).not.toContain("hunter2");
  });
});

describe("grpc-audit ingest from a secured Kafka", () => {
  it("reaches the broker over TLS with the client certificate, speaking Kafka", async () => {
    const seen: { client?: string | undefined; apiKey?: number; clientId?: string } = {};
    const standIn = createServer(
      {
        key: readFileSync(certs.serverKey),
        cert: readFileSync(certs.serverCert),
        ca: readFileSync(certs.caCert),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket: TLSSocket) => {
        const name = socket.getPeerCertificate().subject?.CN;
        seen.client = Array.isArray(name) ? name.join(",") : name;
        socket.once("data", (request: Buffer) => {
          // A Kafka request: size, api key, api version, correlation id, client id (int16 length + bytes).
          seen.apiKey = request.readInt16BE(4);
          seen.clientId = request.toString("utf8", 14, 14 + request.readInt16BE(12));
          socket.destroy();
        });
      },
    );
    standIn.listen(0, "127.0.0.1");
    await once(standIn, "listening");
    const { port } = standIn.address() as AddressInfo;
    const child = startCli([
      "ingest",
      "--from",
      `kafka://127.0.0.1:${port}`,
      "--topic",
      "audit",
      "--group",
      "ingest",
      "--to",
      join(tempDir(), "kafka.db"),
      ...tlsFlags(),
    ]);
    const exited = once(child, "close");
    try {
      await until(() => seen.clientId !== undefined, "a Kafka request over TLS");
    } finally {
      child.kill("SIGKILL");
      await exited;
      standIn.close();
    }
    expect(seen).toStrictEqual({
      client: certs.clientName,
      apiKey: expect.any(Number),
      clientId: "grpc-audit-ingest",
    });
    // ApiVersions (18) or Metadata (3): the first requests a Kafka client sends on a connection.
    expect([18, 3]).toContain(seen.apiKey);
  });

  it("passes TLS material and the SASL user to the Kafka client", () => {
    const flags: SourceFlags = {
      from: "kafka://k:9092",
      ackWaitMs: 30_000,
      topic: "audit",
      group: "ingest",
      tlsCa: certs.caCert,
      user: "svc-ingest",
      sasl: "scram-sha-512",
    };
    const options = kafkaOptions(
      flags,
      ["k:9092"],
      brokerAccess(flags, "kafka", { [PASSWORD_ENV]: "s3cret" }),
    );
    expect(options).toStrictEqual({
      bootstrapBrokers: ["k:9092"],
      topic: "audit",
      groupId: "ingest",
      tls: { ca: readFileSync(certs.caCert, "utf8") },
      sasl: { mechanism: "SCRAM-SHA-512", username: "svc-ingest", password: "s3cret" },
    });
  });

  it("--tls alone turns TLS on with the system's CAs; no TLS flag, no TLS", () => {
    const flags: SourceFlags = { from: "kafka://k:9092", ackWaitMs: 30_000, topic: "audit", group: "ingest" };
    expect(kafkaOptions(flags, ["k:9092"], brokerAccess({ ...flags, tls: true }, "kafka")).tls).toStrictEqual(
      {},
    );
    expect(kafkaOptions(flags, ["k:9092"], brokerAccess(flags, "kafka"))).not.toHaveProperty("tls");
  });
});
