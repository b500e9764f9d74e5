/**
 * Child process of canary-fuzz.test.ts (run compiled, with plain node): the fixture VaultService on
 * 127.0.0.1:0 behind the audit interceptors (JWT authn, the generated rules, payload digests), recording
 * as an application would wire it: a log file, the SQLite store behind a write-ahead spool, and NATS
 * JetStream behind another write-ahead spool, with a redaction pattern for status messages. Every
 * error the Recorder reports is printed to stderr (console.error), as an application's onError would.
 *
 * The handlers echo what the caller sends in metadata into the places a secret leaks through:
 * `x-echo-value` into each response's sensitive `value`, `x-echo-attribute` into an audit attribute
 * ("password=<it>"), `x-echo-plain` into another, and `x-echo-failure` into the status message of a
 * failure ("password=<it>" after `x-echo-padding` two-byte characters; the bare value for ReadSecret,
 * whose rule omits status messages).
 *
 * Prints "ready <port>"; on "close" on stdin shuts down and prints "closed <stats JSON>".
 * Usage: node vault-child.js <config JSON file>
 */
import { readFileSync } from "node:fs";
import {
  type Metadata,
  Server,
  type ServerErrorResponse,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import { createJwtAuthenticator } from "../../../src/authn/jwt-authenticator.js";
import { createBrokerEmitter } from "../../../src/brokers/broker-emitter.js";
import { setAuditAttribute } from "../../../src/context/scope.js";
import { createDeliveryEmitter } from "../../../src/delivery/delivery-emitter.js";
import { createLogEmitter } from "../../../src/emitters/log-emitter.js";
import { createAuditInterceptors } from "../../../src/interceptors/audit-interceptors.js";
import { createNatsBroker } from "../../../src/nats/nats-broker.js";
import { createRecorder } from "../../../src/recorder/recorder.js";
import { openAuditStore } from "../../../src/store/audit-store.js";
import {
  type Secret,
  type VaultServiceServer,
  VaultServiceService,
} from "../../fixtures/gen/payload/payload.js";
import { auditRules } from "../../fixtures/gen/payload/payload_audit.js";
import { AUDIENCE, ISSUER, type SigningKey } from "../../helpers/jwt.js";
import { listenOnLoopback, stopServer } from "../../helpers/loopback-server.js";

/** What the parent passes in the config file. */
export interface ChildConfig {
  logPath: string;
  storePath: string;
  storeSpoolPath: string;
  natsUrl: string;
  natsStream: string;
  natsTopic: string;
  natsSpoolPath: string;
  /** The identity provider's public key set; the private key stays with the parent. */
  jwks: SigningKey["jwks"];
  digestKeyHex: string;
}

const configPath = process.argv[2];
if (configPath === undefined) throw new Error("usage: vault-child.js <config JSON file>");
const config = JSON.parse(readFileSync(configPath, "utf8")) as ChildConfig;

const store = openAuditStore({ path: config.storePath, onError: (error) => console.error(error) });
const broker = await createNatsBroker({ servers: config.natsUrl, stream: config.natsStream });
const recorder = createRecorder({
  service: "vault",
  emitters: [
    createLogEmitter({ destination: config.logPath }),
    createDeliveryEmitter({
      sink: store.sink(),
      spool: { path: config.storeSpoolPath, writeAhead: true },
      onError: (error) => console.error(error),
    }),
    createBrokerEmitter({
      broker,
      topic: config.natsTopic,
      delivery: {
        spool: { path: config.natsSpoolPath, writeAhead: true },
        onError: (error) => console.error(error),
      },
    }),
  ],
  redactPatterns: [/password=\S+/],
  onError: (error) => console.error(error),
});

const jwt = createJwtAuthenticator({
  jwks: config.jwks,
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ["ES256"],
});

/** A metadata value the caller sent, or "". */
function echoed(metadata: Metadata, key: string): string {
  const [value] = metadata.get(key);
  return typeof value === "string" ? value : "";
}

/** Sets the call's attributes from metadata; the failure to end it with, if the caller asked for one. */
function plan(metadata: Metadata, bare = false): ServerErrorResponse | undefined {
  setAuditAttribute("detail", `password=${echoed(metadata, "x-echo-attribute")}`);
  setAuditAttribute("marker", echoed(metadata, "x-echo-plain"));
  const failure = echoed(metadata, "x-echo-failure");
  if (failure === "") return undefined;
  const padding = "·".repeat(Number(echoed(metadata, "x-echo-padding")));
  const details = bare ? failure : `${padding}could not store the secret: password=${failure} was refused`;
  return Object.assign(new Error(details), { code: status.FAILED_PRECONDITION, details });
}

function secret(metadata: Metadata, name: string, version = 1): Secret {
  return { name, value: echoed(metadata, "x-echo-value"), version };
}

/** Writes one secret and fails, or writes three and ends. */
function watch(call: ServerWritableStream<{ name: string }, Secret>): void {
  const failure = plan(call.metadata);
  call.write(secret(call.metadata, call.request.name));
  if (failure !== undefined) {
    call.emit("error", failure);
    return;
  }
  for (const version of [2, 3]) call.write(secret(call.metadata, call.request.name, version));
  call.end();
}

const handlers: VaultServiceServer = {
  putSecret: (call, callback) => {
    const failure = plan(call.metadata);
    callback(failure ?? null, failure ? undefined : secret(call.metadata, call.request.name));
  },
  rotateSecret: (call, callback) => {
    const failure = plan(call.metadata);
    callback(failure ?? null, failure ? undefined : secret(call.metadata, call.request.name));
  },
  readSecret: (call, callback) => {
    const failure = plan(call.metadata, true);
    callback(failure ?? null, failure ? undefined : secret(call.metadata, call.request.name));
  },
  watchSecrets: watch,
  importSecrets: (call, callback) => {
    const failure = plan(call.metadata);
    let imported = 0;
    call.on("data", () => imported++);
    call.on("end", () => callback(failure ?? null, failure ? undefined : { imported }));
  },
  syncSecrets: (call) => {
    const failure = plan(call.metadata);
    call.on("data", (request: { name: string }) => call.write(secret(call.metadata, request.name)));
    call.on("end", () => (failure ? call.emit("error", failure) : call.end()));
  },
};

// WatchSecrets keeps a redacted copy here instead of its generated digest, so that ReadSecretRequest's
// sensitive one_time_code goes through a capture that writes JSON (its generated shapes are kept).
const WATCH = "/fixtures.payload.v1.VaultService/WatchSecrets";
const rules = { ...auditRules, [WATCH]: { ...auditRules[WATCH], payload: "redacted" as const } };

const server = new Server({
  interceptors: createAuditInterceptors({
    recorder,
    rules,
    authn: { authenticators: [jwt] },
    payloadDigestKey: { id: "canary-key-1", secret: Buffer.from(config.digestKeyHex, "hex") },
  }),
});
server.addService(VaultServiceService, handlers);
const port = await listenOnLoopback(server);

async function close(): Promise<void> {
  await stopServer(server);
  const report = await recorder.close();
  store.close();
  process.stdout.write(`closed ${JSON.stringify({ report, stats: recorder.stats() })}\n`);
}

process.stdin.setEncoding("utf8").on("data", (chunk: string) => {
  if (chunk.includes("close")) close().catch((error: unknown) => console.error(error));
});
process.stdout.write(`ready ${port}\n`);
