// One benchmark server process: serves example.v1.ProjectService/UpdateProject with the interceptor
// variant named in argv[2], and reports its CPU usage to the orchestrator over IPC.
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { OpenFgaClient } from "@openfga/sdk";
import type { JSONWebKeySet } from "jose";
import pino from "pino";
import { LineBatcher, type SonicBoomLike } from "../../src/emitters/line-batcher.js";
import { ProjectServiceService, type UpdateProjectRequest } from "../../src/gen/example/v1/projects.js";
import { auditRules, authzRules } from "../../src/gen/example/v1/projects_audit.js";
import {
  createJwtAuthenticator,
  createLogEmitter,
  createNoopEmitter,
  createRecorder,
  type Emitter,
  eventToJson,
} from "../../src/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { createMemoryEmitter } from "../../src/testing/index.js";
import { AUDIENCE, ISSUER } from "../../test/helpers/jwt.js";

export type Variant =
  | "baseline"
  | "pass-through"
  | "als-only"
  | "log-only"
  | "als+log"
  | "als+3log"
  | "authn+log"
  | "audit+noop"
  | "audit+log"
  | "full";

/** What the "full" variant needs from the orchestrator (passed as JSON in BENCH_FULL). */
export interface FullChainSetup {
  jwks: JSONWebKeySet;
  openFgaUrl: string;
  storeId: string;
  modelId: string;
}

const variant = process.argv[2] as Variant;

function audited(emitter: Emitter): ServerInterceptor[] {
  return createAuditInterceptors({
    recorder: createRecorder({ service: "bench", emitters: [emitter] }),
    rules: auditRules,
  });
}

/**
 * JWT authn (RS256, verification cache), OpenFGA authz with decision cache, mutation rule, log to a
 * file; without authz for the "authn+log" variant.
 */
function fullChain(withAuthz = true): ServerInterceptor[] {
  const setup = JSON.parse(process.env.BENCH_FULL ?? "{}") as FullChainSetup;
  const client = new OpenFgaClient({
    apiUrl: setup.openFgaUrl,
    storeId: setup.storeId,
    authorizationModelId: setup.modelId,
    retryParams: { maxRetry: 0, minWaitInMs: 10 },
  });
  return createAuditInterceptors({
    recorder: createRecorder({ service: "bench", emitters: [createLogEmitter({ destination: logFile() })] }),
    rules: auditRules,
    authn: {
      authenticators: [
        createJwtAuthenticator({
          jwks: setup.jwks,
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ["RS256"],
        }),
      ],
    },
    ...(withAuthz
      ? {
          authz: {
            authorizer: createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } }),
            rules: authzRules,
          },
        }
      : {}),
  });
}

function logFile(): string {
  return join(mkdtempSync(join(tmpdir(), "grpc-audit-bench-")), "audit.ndjson");
}

/**
 * The floor of "`lines` log lines per call": raw pino, writing to a file the way the LogEmitter writes
 * to a file it owns, logs the proto3 JSON of a resource-mutation event made once up front, `lines` times
 * at every status. No audit code runs per call (the event is built without a scope, so
 * AsyncLocalStorage stays off). The full chain writes three events per call.
 */
function rawLogLinesAtStatus(lines: number): ServerInterceptor {
  const memory = createMemoryEmitter();
  createRecorder({ service: "bench", emitters: [memory] }).recordResourceMutation({
    mutation: "update",
    resourceType: "project",
    resourceId: "p-1",
    operation: "/example.v1.ProjectService/UpdateProject",
    actor: { type: "user", id: "anonymous" },
    requestId: "0194a7d2-51c4-7c2e-9a33-2f1d6c0a8e11",
    peer: "ipv4:127.0.0.1:40000",
    durationMs: 0.05,
  });
  const event = memory.events[0];
  if (event === undefined) throw new Error("no sample event");
  const audit = eventToJson(event);
  const file = pino.destination({ dest: logFile(), sync: false }) as unknown as SonicBoomLike;
  const logger = pino({ level: "info" }, new LineBatcher(file, (error) => console.error(error)));
  return (_method, call) =>
    new ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        for (let i = 0; i < lines; i++) logger.info({ audit }, "resource.mutation");
        next(status);
      },
    });
}

/** Only what the audit scope costs by itself: an AsyncLocalStorage run around each inbound event. */
function alsAroundInboundEvents(): ServerInterceptor {
  const als = new AsyncLocalStorage<object>();
  return (_method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => als.run({}, () => nextMetadata(metadata)),
          onReceiveMessage: (message, nextMessage) => als.run({}, () => nextMessage(message)),
          onReceiveHalfClose: (nextHalfClose) => als.run({}, nextHalfClose),
        }),
    });
}

function interceptorsFor(name: Variant): ServerInterceptor[] {
  switch (name) {
    case "baseline":
      return [];
    case "pass-through":
      return [(_method, call) => new ServerInterceptingCall(call)];
    case "als-only":
      return [alsAroundInboundEvents()];
    case "log-only":
      return [rawLogLinesAtStatus(1)];
    case "als+log":
      return [alsAroundInboundEvents(), rawLogLinesAtStatus(1)];
    case "als+3log":
      return [alsAroundInboundEvents(), rawLogLinesAtStatus(3)];
    case "audit+noop":
      return audited(createNoopEmitter());
    case "audit+log":
      return audited(createLogEmitter({ destination: logFile() }));
    case "authn+log":
      return fullChain(false);
    case "full":
      return fullChain();
  }
}

const server = new Server({ interceptors: interceptorsFor(variant) });
server.addService(ProjectServiceService, {
  updateProject(call: { request: UpdateProjectRequest }, callback: (error: null, response: unknown) => void) {
    callback(null, call.request.project);
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
);

let mark = process.cpuUsage();
process.on("message", (message) => {
  if (message === "cpu-start") {
    mark = process.cpuUsage();
    process.send?.({ cpuStarted: true });
  } else if (message === "cpu-stop") {
    const used = process.cpuUsage(mark);
    process.send?.({ cpuUs: used.user + used.system });
  } else if (message === "exit") {
    server.forceShutdown();
    process.exit(0);
  }
});
process.send?.({ port });
