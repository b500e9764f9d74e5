import { constants } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { createDeliveryEmitter } from "../../delivery/index.js";
import { createLogEmitter } from "../../emitters/log-emitter.js";
import type { AuditEvent } from "../../gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../interceptors/audit-interceptors.js";
import { createRecorder, type Recorder } from "../../recorder/recorder.js";
import type { AuditStore } from "../../store/audit-store.js";
import { toCliError } from "../errors.js";
import { formatEventTable, formatTable } from "../format.js";
import { formatStats } from "../format-stats.js";
import { print } from "../output.js";
import { loadStoreModule } from "../store-access.js";
import { claimDemoFiles, removeCreated } from "./demo-files.js";
import { createDemoIdentity, type DemoIdentity, type ExternalIssuer } from "./demo-identity.js";
import { runScript } from "./demo-script.js";
import { demoProjectService } from "./demo-service.js";
import {
  createInProcessTuples,
  createOpenFgaTuples,
  type DemoTuples,
  type OpenFgaTarget,
} from "./demo-tuples.js";
import { ProjectServiceClient, ProjectServiceService } from "./gen/example/v1/projects.js";
import { auditRules, authzRules } from "./gen/example/v1/projects_audit.js";

/** Options of `runDemo` (the flags of `grpc-audit demo`). */
export interface DemoOptions {
  /** The audit store file. */
  db: string;
  /** The pino log file. */
  log: string;
  /** Add to files that exist already; without it the demo refuses them (it never deletes a file). */
  keep: boolean;
  /** After the script, keep serving until SIGINT. */
  serve: boolean;
  /** Use this OpenFGA server instead of the in-process demo authorizer. */
  openfga?: OpenFgaTarget;
  /** Also accept this issuer's tokens (with `serve`, for the user's own client). */
  externalIssuer?: ExternalIssuer;
}

/** A running demo: the server, what records its calls, and how to stop it all. */
interface DemoRun {
  port: number;
  store: AuditStore;
  recorder: Recorder;
  tuples: DemoTuples;
  identity: DemoIdentity;
  /** Stops it; `force` cancels calls still running instead of waiting for them. */
  stop(options: { force: boolean }): Promise<void>;
}

/**
 * Runs the demo: serves the example ProjectService on loopback with the whole interceptor chain,
 * recording into the audit store (through the delivery pipeline) and a pino log, plays the scripted
 * client, then prints the calls, the recorded events and the stats. With `serve`, keeps serving until
 * SIGINT. A run that fails or is interrupted before it has printed everything removes the files it
 * created, so that the next run starts afresh.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const files = claimDemoFiles(options.db, options.log, options.keep);
  const signals = catchSignals();
  let finished = false;
  try {
    // Raced too: its first read of an OpenFGA store may wait on a server that never answers.
    const demo = await signals.race(startDemo(options));
    try {
      await playAndPrint(demo, options, signals);
      finished = true;
      if (options.serve) await serveUntilInterrupted(demo, options.externalIssuer, signals.received);
    } finally {
      await demo.stop({ force: !finished });
    }
  } catch (error) {
    if (finished) throw error;
    const removed = removeCreated(files);
    if (!(error instanceof Interrupted)) throw error;
    const what = removed.length === 0 ? "" : `; removed the files it created: ${removed.join(", ")}`;
    process.stderr.write(`grpc-audit demo: interrupted (${error.signal}) before it finished${what}\n`);
    // A call may still wait on an OpenFGA server: end now, with the shell's code for the signal.
    process.exit(128 + (constants.signals[error.signal] ?? 0));
  } finally {
    signals.dispose();
  }
}

/** The script, and what it recorded, printed. */
async function playAndPrint(demo: DemoRun, options: DemoOptions, signals: Signals): Promise<void> {
  const startedAt = new Date();
  signals.check();
  print(`grpc-audit demo: example.v1.ProjectService on 127.0.0.1:${demo.port}, with createAuditInterceptors`);
  for (const [part, what] of [
    ["authn", authnDescription(options.externalIssuer)],
    ["authz", demo.tuples.description],
    ["rules", "auditRules and authzRules generated from proto/example/v1/projects.proto"],
    ["records", `${options.db} (audit store, via the delivery pipeline) and ${options.log} (pino)`],
  ]) {
    print(`  ${part.padEnd(8)} ${what}`);
  }
  const client = new ProjectServiceClient(`127.0.0.1:${demo.port}`, credentials.createInsecure());
  const steps = await signals.race(runScript(client, demo.identity)).finally(() => client.close());
  print("\nThe scripted client made these calls:");
  print(
    formatTable(
      ["caller", "call", "request", "status", "result"],
      steps.map((s) => [s.caller, s.call, s.request, s.status, s.result]),
    ),
  );
  await signals.race(demo.recorder.flush());
  const { events } = demo.store.query({ from: startedAt }, { limit: 1000 });
  print(
    `\nThey recorded ${events.length} audit events (oldest first; \`grpc-audit query\` lists newest first):`,
  );
  print(formatEventTable(events.reverse()));
  printProjectTrail(demo.store, events, startedAt, options.db);
  print(`\n\`grpc-audit stats --db ${options.db}\`:`);
  print(formatStats(demo.store.stats()));
  const { accepted, dropped, failed, invalid } = demo.recorder.stats();
  print(`\nrecorder: accepted ${accepted}, dropped ${dropped}, failed ${failed}, invalid ${invalid}`);
  print(
    `Look further: npx grpc-audit query --db ${options.db} --actor alice --json, or --decision denied, or --type resource.access`,
  );
}

/** SIGINT or SIGTERM while the demo runs: the demo stops and cleans up instead of dying mid-write. */
class Interrupted extends Error {
  override name = "Interrupted";

  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`);
  }
}

/** The signals the demo listens to while it runs. */
interface Signals {
  /** Resolves with the first SIGINT or SIGTERM. */
  readonly received: Promise<NodeJS.Signals>;
  /** Throws Interrupted if a signal came. */
  check(): void;
  /** `work`, or Interrupted as soon as a signal comes. */
  race<T>(work: Promise<T>): Promise<T>;
  dispose(): void;
}

function catchSignals(): Signals {
  let signal: NodeJS.Signals | undefined;
  let resolveReceived: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolve) => {
    resolveReceived = resolve;
  });
  const on = (name: NodeJS.Signals) => {
    signal ??= name;
    resolveReceived(name);
  };
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  const interrupted = received.then((name) => Promise.reject(new Interrupted(name)));
  // Rejects only when a signal came; whoever races it sees that, and otherwise nobody must.
  interrupted.catch(() => undefined);
  return {
    received,
    check() {
      if (signal !== undefined) throw new Interrupted(signal);
    },
    race: (work) => Promise.race([work, interrupted]),
    dispose() {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
    },
  };
}

function authnDescription(external: ExternalIssuer | undefined): string {
  const own = "JWT (RS256 key pair generated for this run)";
  if (external === undefined) return own;
  return `${own}, and JWTs of ${external.issuer} for ${external.audience} (keys: ${external.jwksUrl})`;
}

/**
 * Prints what `grpc-audit query --target-id <project>` finds for the project the script created: its
 * reads and changes, and also the relationship tuples written on it, whose events name the tuple's
 * object as their target.
 */
function printProjectTrail(store: AuditStore, events: readonly AuditEvent[], from: Date, db: string): void {
  const created = events.find((e) => e.detail?.$case === "resourceMutation" && e.target?.type === "project");
  const id = created?.target?.id;
  if (id === undefined) return;
  const { events: trail } = store.query({ from, targetType: "project", targetId: id }, { limit: 1000 });
  print(
    `\n\`grpc-audit query --db ${db} --target-type project --target-id ${id}\` (reads, changes and tuple writes):`,
  );
  print(formatEventTable(trail));
}

async function startDemo(options: DemoOptions): Promise<DemoRun> {
  const { openAuditStore } = await loadStoreModule();
  let store: AuditStore;
  try {
    store = openAuditStore({ path: options.db, onError: printError });
  } catch (error) {
    throw toCliError(error, options.db);
  }
  const recorder = createRecorder({
    service: "example.projects",
    // Ctrl-C resets the calls in flight, and close() waits for their records: one whose handler still
    // waits on an OpenFGA server that does not answer held it for the default 10 s. A second lets the
    // other calls' records in; one that comes later is not written.
    closeWaitMs: 1000,
    // The store is a sink: events reach it through the delivery pipeline, never from the RPC path.
    emitters: [
      // A store that writes fails for good (its file moved away): Ctrl-C gives up in 2 s, not 30.
      createDeliveryEmitter({
        sink: store.sink(),
        name: "audit store",
        onError: printError,
        flushTimeoutMs: 2000,
        closeTimeoutMs: 2000,
      }),
      createLogEmitter({ destination: options.log, onError: printError }),
    ],
    onError: printError,
  });
  try {
    return await serveDemo(options, store, recorder);
  } catch (error) {
    // Closed before the caller removes the files this run created.
    await recorder.close();
    store.close();
    throw error;
  }
}

/**
 * One line on stderr per failure the demo's recorder, emitters or store report (a store file moved
 * away fails its writes: the events are then dropped and counted, and this says so), with its cause.
 */
function printError(error: Error): void {
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  process.stderr.write(`demo: error: ${error.message}${cause}\n`);
}

/** The rest of startDemo, once the store and the recorder are open. */
async function serveDemo(options: DemoOptions, store: AuditStore, recorder: Recorder): Promise<DemoRun> {
  // An OpenFGA store outlives a run: new project ids keep this run's tuples apart from earlier ones.
  const idPrefix = options.openfga === undefined ? "p-" : `p-${Date.now().toString(36)}-`;
  const tuples =
    options.openfga === undefined
      ? createInProcessTuples(recorder)
      : await createOpenFgaTuples(recorder, options.openfga);
  const identity = await createDemoIdentity(options.externalIssuer);
  const server = new Server({
    interceptors: createAuditInterceptors({
      recorder,
      rules: [auditRules],
      authn: { authenticators: [identity.authenticator] },
      // CreateProject has no authz rule (anyone signed in may create): it passes, recorded as NO_RULE.
      authz: { authorizer: tuples.authorizer, rules: [authzRules], missingRule: "allow" },
    }),
  });
  server.addService(ProjectServiceService, demoProjectService(tuples, idPrefix));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    store,
    recorder,
    tuples,
    identity,
    async stop({ force }) {
      const finished = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      // A call waiting on an OpenFGA server that does not answer must not hold Ctrl-C: after a grace its
      // write is given up (recorded with an unknown outcome) and the call fails; then what still runs
      // is cancelled.
      if (!force) await within(finished, SHUTDOWN_GRACE_MS);
      tuples.abandon();
      await within(finished, SHUTDOWN_GRACE_MS);
      server.forceShutdown();
      await recorder.close();
      store.close();
    },
  };
}

/** How long Ctrl-C lets the calls in flight finish, and then those whose OpenFGA writes it gave up. */
const SHUTDOWN_GRACE_MS = 1000;

/** `work`, or nothing after `ms`. */
function within(work: Promise<void>, ms: number): Promise<void> {
  return Promise.race([work, sleep(ms, undefined, { ref: false })]);
}

/** The package's proto/ folder (shipped with it; the repository's when run from a checkout). */
const PROTO_DIR = fileURLToPath(new URL("../../../proto", import.meta.url));

/** Keeps serving, for the user's own client, until SIGINT or SIGTERM. */
async function serveUntilInterrupted(
  demo: DemoRun,
  external: ExternalIssuer | undefined,
  signal: Promise<NodeJS.Signals>,
): Promise<void> {
  const token = await demo.identity.token("alice", "Alice Owner");
  print(`\nServing on 127.0.0.1:${demo.port} until Ctrl-C. A token for alice, valid for an hour:`);
  print(`  export TOKEN=${token}`);
  if (external !== undefined) {
    print(
      `Tokens of ${external.issuer} for ${external.audience}, signed by a key of ${external.jwksUrl}, work too.`,
    );
  }
  print("Call it, for example with grpcurl:");
  print(
    `  grpcurl -plaintext -import-path ${PROTO_DIR} -proto example/v1/projects.proto -H "authorization: Bearer $TOKEN" \\\n` +
      `    -d '{"name":"zeus"}' 127.0.0.1:${demo.port} example.v1.ProjectService/CreateProject`,
  );
  print(
    `  grpc-audit tail --db ${demo.store.path}      (in another terminal: the events as they are recorded)`,
  );
  await signal;
}
