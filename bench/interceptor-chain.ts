// In-process cost per call of each interceptor chain: one unary call driven through grpc-js's own
// ServerInterceptingCall machinery over a fake transport call (no network, no serialisation), so
// only the interceptors' work is measured. Ratios against the empty chain, in the same run.
import {
  Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
  type ServerMethodDefinition,
} from "@grpc/grpc-js";
import pino from "pino";
import { Bench } from "tinybench";
import {
  type Project,
  ProjectServiceService,
  type UpdateProjectRequest,
} from "../src/cli/demo/gen/example/v1/projects.js";
import { auditRules, authzRules } from "../src/cli/demo/gen/example/v1/projects_audit.js";
import {
  type Authorizer,
  createJwtAuthenticator,
  createLogEmitter,
  createNoopEmitter,
  createRecorder,
  type Emitter,
  type RecorderOptions,
  type RecordPolicy,
} from "../src/index.js";
import { createAuditInterceptors } from "../src/interceptors/audit-interceptors.js";
import { ForwardingCall } from "../src/interceptors/forwarding-call.js";
import { GatedCall } from "../src/interceptors/gated-call.js";
import { AUDIENCE, ISSUER, newSigningKey, signToken } from "../test/helpers/jwt.js";
import { median, writeResults } from "./results.js";
import { scopeBuilder } from "./scope-builder.js";
import { alsAroundInboundEvents, rawLogLinesAtStatus } from "./server-overhead/floors.js";

type Listener = Parameters<ServerInterceptingCallInterface["start"]>[0];
type Status = Parameters<ServerInterceptingCallInterface["sendStatus"]>[0];

const definition = ProjectServiceService.updateProject;
const METHOD: ServerMethodDefinition<UpdateProjectRequest, Project> = {
  path: definition.path,
  requestStream: false,
  responseStream: false,
  requestDeserialize: definition.requestDeserialize,
  responseSerialize: definition.responseSerialize,
};
const REQUEST: UpdateProjectRequest = { project: { id: "p-1", name: "bench", ownerId: "" } };

/** The transport side of a call, as grpc-js's BaseServerInterceptingCall presents it, minus the network. */
class FakeTransportCall implements ServerInterceptingCallInterface {
  listener: Listener | undefined;
  onStatus: ((status: Status) => void) | undefined;
  start(listener: Listener) {
    this.listener = listener;
  }
  sendMetadata() {}
  sendMessage(_message: unknown, callback: () => void) {
    callback();
  }
  sendStatus(status: Status) {
    this.onStatus?.(status);
  }
  startRead() {}
  getPeer() {
    return "127.0.0.1:50000";
  }
  getDeadline() {
    return Number.POSITIVE_INFINITY;
  }
  getHost() {
    return "localhost";
  }
  getAuthContext() {
    return {};
  }
  getConnectionInfo() {
    return {};
  }
  getMetricsRecorder(): never {
    throw new Error("not used");
  }
}

/** One unary call through `chain`, resolving when the status reached the transport. */
function oneCall(chain: readonly ServerInterceptor[], metadata: Metadata): Promise<Status> {
  const transport = new FakeTransportCall();
  const call = chain.reduce<ServerInterceptingCallInterface>(
    (inner, interceptor) => interceptor(METHOD, inner),
    transport,
  );
  const done = new Promise<Status>((resolve) => {
    transport.onStatus = resolve;
  });
  let request: UpdateProjectRequest | undefined;
  call.start({
    onReceiveMetadata: () => call.startRead(),
    onReceiveMessage: (message: UpdateProjectRequest) => {
      request = message;
    },
    onReceiveHalfClose: () =>
      call.sendMessage(request?.project, () => call.sendStatus({ code: 0, details: "OK", metadata: null })),
    onCancel: () => {},
  });
  const listener = transport.listener as Listener;
  listener.onReceiveMetadata(metadata);
  listener.onReceiveMessage(REQUEST);
  listener.onReceiveHalfClose();
  return done.then((status) => {
    listener.onCancel(); // grpc-js reports a cancel after every call
    return status;
  });
}

const audited = (
  emitter: Emitter,
  extra: Partial<Parameters<typeof createAuditInterceptors>[0]> = {},
  recorder: Partial<RecorderOptions> = {},
) =>
  createAuditInterceptors({
    recorder: createRecorder({ service: "bench", emitters: [emitter], ...recorder }),
    rules: auditRules,
    ...extra,
  });

/**
 * A pino logger whose destination drops every line: the chains' lines are made (event, proto3 JSON,
 * pino) but not written, so only the interceptors' work is timed. Writing is in the server benchmark;
 * here it would pile up, as this loop never lets the event loop run the asynchronous writes.
 */
const discardingLogger = () => pino({ level: "info" }, { write: () => {} });
const discardingLog = () => createLogEmitter({ logger: discardingLogger() });

const key = await newSigningKey("bench", "RS256");
const metadata = new Metadata();
metadata.set("authorization", `Bearer ${await signToken(key, { sub: "alice" })}`);
const allowAll: Authorizer = {
  cached: () => ({ kind: "allowed", cacheHit: true }),
  check: async () => ({ kind: "allowed", cacheHit: true }),
  batchCheck: async (requests) => requests.map(() => ({ kind: "allowed", cacheHit: true })),
};
const jwt = createJwtAuthenticator({
  jwks: key.jwks,
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ["RS256"],
});

/** Successful authn and allowed authz decisions counted, not recorded (`RecorderOptions.record`). */
const FAILURES_ONLY: RecordPolicy = { "authn.result": "failures", "authz.decision": "failures" };

const security = {
  authn: { authenticators: [jwt] },
  authz: { authorizer: allowAll, rules: authzRules },
};

/**
 * The two ways to write an interceptor that sees every event of a call, forwarding each unchanged:
 * grpc-js's documented builder form (a listener and a responder of closures per call), and our call
 * objects (one object per call, methods on its prototype). Four of each, as the full chain has four
 * interceptors. On Node 20 the answer differs between running them alone (BENCH_CHAINS) and with the
 * full chain in the process, whose ForwardingCall subclasses make the base methods polymorphic
 * (docs/performance.md).
 */
const builderForm: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(
    call,
    new ResponderBuilder()
      .withStart((next) =>
        next(
          new ServerListenerBuilder()
            .withOnReceiveMetadata((metadata, next) => next(metadata))
            .withOnReceiveMessage((message, next) => next(message))
            .withOnReceiveHalfClose((next) => next())
            .withOnCancel(() => {})
            .build(),
        ),
      )
      .withSendMessage((message, next) => next(message))
      .withSendStatus((status, next) => next(status))
      .build(),
  );
class PassingCall extends ForwardingCall {}
class PassingGate extends GatedCall {}
const forwardingCall: ServerInterceptor = (_method, call) => new PassingCall(call);
const gatedCall: ServerInterceptor = (_method, call) => new PassingGate(call);

const chains: Record<string, ServerInterceptor[]> = {
  baseline: [],
  "pass-through": [(_method, call) => new ServerInterceptingCall(call)],
  "audit+noop": audited(createNoopEmitter()),
  "audit+log(discarded)": audited(discardingLog()),
  // JWT verification is cached after the first call; the authorizer answers from its cache (as the
  // OpenFGA authorizer does on a hit), so this is the chain's own cost, not OpenFGA's.
  "full(jwt+authz+rules+noop)": audited(createNoopEmitter(), security),
  // The same writing its three events (authn, authz, mutation) as log lines.
  "full+log(discarded)": audited(discardingLog(), security),
  // The same without the hash chain (`chain: false`): the difference is what the chain costs a call.
  "full+log(discarded)-unchained": audited(discardingLog(), security, { chain: false }),
  "full(jwt+authz+rules+noop)-unchained": audited(createNoopEmitter(), security, { chain: false }),
  // Record policy "failures" for authn and authz: their successes are counted, only the mutation is
  // logged; its floor is the scope and one raw line.
  "full+log(discarded)-failures": audited(discardingLog(), security, { record: FAILURES_ONLY }),
  "floor(als+1log)": [alsAroundInboundEvents(), rawLogLinesAtStatus(1, discardingLogger())],
  // The floor of the line above, as in the server benchmark: an AsyncLocalStorage run around each
  // inbound event and three raw pino lines of a prebuilt event; no grpc-audit code per call.
  "floor(als+3log)": [alsAroundInboundEvents(), rawLogLinesAtStatus(3, discardingLogger())],
  // The full chain with its scope interceptor in grpc-js's builder form, same work, instead of a call object.
  "full(scope-builder)": [scopeBuilder("x-request-id"), ...audited(createNoopEmitter(), security).slice(1)],
  "4×builder-form": [builderForm, builderForm, builderForm, builderForm],
  "4×ForwardingCall": [forwardingCall, forwardingCall, forwardingCall, forwardingCall],
  "2×ForwardingCall+2×GatedCall": [forwardingCall, gatedCall, gatedCall, forwardingCall],
};

// BENCH_CHAINS=baseline,full... measures only those, in that order (for profiling one chain, or to see
// whether the order they run in changes a comparison).
const only = process.env.BENCH_CHAINS?.split(",");
if (only !== undefined) {
  const picked = only.map((name) => {
    const chain = chains[name];
    if (chain === undefined) throw new Error(`BENCH_CHAINS: no chain named ${name}`);
    return [name, chain] as const;
  });
  for (const name of Object.keys(chains)) delete chains[name];
  for (const [name, chain] of picked) chains[name] = chain;
}

for (const [name, chain] of Object.entries(chains)) {
  const status = await oneCall(chain, metadata);
  if (status.code !== 0) throw new Error(`${name}: the chain answered ${status.code} ${status.details}`);
}

// BENCH_CALLS=N: no timing, only BENCH_WARMUP_CALLS (default 5000) and then N calls of each chain. Run
// under callgrind with N=0 and N=6000 and divide the difference of the counts: instructions per call
// (docs/performance.md, "What was removed").
if (process.env.BENCH_CALLS !== undefined) {
  const calls = Number(process.env.BENCH_WARMUP_CALLS ?? 5000) + Number(process.env.BENCH_CALLS);
  for (const chain of Object.values(chains)) for (let i = 0; i < calls; i++) await oneCall(chain, metadata);
  process.exit(0);
}

const bench = new Bench({
  name: "interceptor chain",
  time: Number(process.env.BENCH_TIME_MS ?? 1500),
  warmupTime: 300,
});
for (const [name, chain] of Object.entries(chains))
  bench.add(`Chain/unary/${name}`, () => oneCall(chain, metadata));
await bench.run();

const meanUs = (name: string) => {
  const task = bench.tasks.find((t) => t.name === `Chain/unary/${name}`);
  const result = task?.result as { latency?: { mean?: number; p50?: number } } | undefined;
  return (result?.latency?.p50 ?? result?.latency?.mean ?? Number.NaN) * 1000;
};
const base = meanUs("baseline");
const table = Object.keys(chains).map((name) => ({
  chain: name,
  "µs/call (p50)": meanUs(name).toFixed(2),
  "added µs": (meanUs(name) - base).toFixed(2),
  "× baseline": (meanUs(name) / base).toFixed(2),
}));
console.log(
  `\nIn-process interceptor cost per unary call (grpc-js ServerInterceptingCall, fake transport), node ${process.version}`,
);
console.table(table);
writeResults("interceptor-chain", { table, median: median(Object.keys(chains).map(meanUs)) });
