/**
 * Child process of fleet.test.ts (run compiled, with plain node): one replica of the example
 * ProjectService on 127.0.0.1:0 behind the whole audit interceptor chain (JWT authn, authz through the
 * fake authorizer, the generated rules), its Recorder chaining and signing checkpoints, delivering
 * through a broker emitter with a write-ahead spool to NATS JetStream. A memory emitter beside it keeps
 * every event the Recorder handed over, so the parent learns which ids must reach the store.
 *
 * Prints "ready <port>"; on "close" on stdin shuts the server and the Recorder down (final checkpoint,
 * spool drained), writes "<event id> <kind>" lines to `idsPath`, and prints "closed <JSON>" with the
 * Recorder's close report and the broker emitter's stats.
 * Usage: node server-child.js <config JSON file>
 */
import { createPrivateKey } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventKind } from "../../src/event/kinds.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createNatsBroker } from "../../src/nats/nats-broker.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, type SigningKey } from "../helpers/jwt.js";
import { startProjectServer } from "../helpers/project-server.js";

/** What the parent passes in the config file. */
export interface ServerChildConfig {
  /** The broker's address: nats-server itself, or the proxy in front of it. */
  natsUrl: string;
  stream: string;
  topic: string;
  spoolPath: string;
  idsPath: string;
  /** The identity provider's public key set; the private key stays with the parent. */
  jwks: SigningKey["jwks"];
  /** PKCS#8 PEM of the Ed25519 key checkpoints are signed with, and its id. */
  checkpointKeyPem: string;
  checkpointKeyId: string;
  /** Tuples the fake authorizer allows ("user:alice|owner|project:p-1"). */
  tuples: string[];
}

const configPath = process.argv[2];
if (configPath === undefined) throw new Error("usage: server-child.js <config JSON file>");
const config = JSON.parse(readFileSync(configPath, "utf8")) as ServerChildConfig;

const broker = await createNatsBroker({ servers: config.natsUrl, stream: config.stream });
const memory = createMemoryEmitter({ capacity: 1_000_000 });
const brokerEmitter = createBrokerEmitter({
  broker,
  topic: config.topic,
  delivery: { spool: { path: config.spoolPath, writeAhead: true }, onError: () => {} },
});
const recorder = createRecorder({
  service: "projects",
  emitters: [memory, brokerEmitter],
  chain: {
    signingKey: createPrivateKey(config.checkpointKeyPem),
    keyId: config.checkpointKeyId,
    checkpointEvery: 500,
  },
  onError: (error) => console.error(error),
});
// The authenticator needs only the public half (the parent signs the tokens).
const key: SigningKey = { kid: "", alg: "ES256", privateKey: new Uint8Array(), jwks: config.jwks };
const server = await startProjectServer(
  createAuditInterceptors({
    recorder,
    rules: auditRules,
    authn: { authenticators: [jwtAuthenticatorFor(key)] },
    authz: { authorizer: createFakeAuthorizer(config.tuples).authorizer, rules: authzRules },
  }),
);
console.log(`ready ${server.port}`);

process.stdin.setEncoding("utf8");
process.stdin.on("data", async (line: string) => {
  if (line.trim() !== "close") return;
  await server.close();
  const closed = await recorder.close();
  await broker.close();
  const lines = memory.events.map((event) => `${event.eventId} ${eventKind(event.eventType)}\n`);
  writeFileSync(config.idsPath, lines.join(""));
  console.log(`closed ${JSON.stringify({ closed, broker: brokerEmitter.stats() })}`);
  process.exit(0);
});
