// One benchmark server process: serves example.v1.ProjectService/UpdateProject with the interceptor
// variant named in argv[2], and reports its CPU usage to the orchestrator over IPC.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { OpenFgaClient } from "@openfga/sdk";
import type { JSONWebKeySet } from "jose";
import {
  ProjectServiceService,
  type UpdateProjectRequest,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules, authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import {
  createJwtAuthenticator,
  createLogEmitter,
  createNoopEmitter,
  createRecorder,
  type Emitter,
  type RecordPolicy,
} from "../../src/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createOpenFgaAuthorizer } from "../../src/openfga/index.js";
import { AUDIENCE, ISSUER } from "../../test/helpers/jwt.js";
import { alsAroundInboundEvents, batchedFileLogger, rawLogLinesAtStatus } from "./floors.js";

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
  | "audit+log-unchained"
  | "audit+log-no-request-id"
  | "full"
  | "full-unchained"
  | "full-failures";

/** What the "full" variant needs from the orchestrator (passed as JSON in BENCH_FULL). */
export interface FullChainSetup {
  jwks: JSONWebKeySet;
  openFgaUrl: string;
  storeId: string;
  modelId: string;
}

const variant = process.argv[2] as Variant;

/**
 * `chained: false` turns the Recorder's hash chain off, to measure what the chain costs;
 * `requestIdHeader: false` the response's x-request-id header, to measure what that costs.
 */
function audited(emitter: Emitter, chained = true, requestIdHeader = true): ServerInterceptor[] {
  return createAuditInterceptors({
    recorder: createRecorder({ service: "bench", emitters: [emitter], ...(chained ? {} : { chain: false }) }),
    rules: auditRules,
    ...(requestIdHeader ? {} : { requestIdHeader: false }),
  });
}

/**
 * JWT authn (RS256, verification cache), OpenFGA authz with decision cache, mutation rule, log to a
 * file; without authz for the "authn+log" variant.
 */
function fullChain(withAuthz = true, chained = true): ServerInterceptor[] {
  const setup = JSON.parse(process.env.BENCH_FULL ?? "{}") as FullChainSetup;
  const client = new OpenFgaClient({
    apiUrl: setup.openFgaUrl,
    storeId: setup.storeId,
    authorizationModelId: setup.modelId,
    retryParams: { maxRetry: 0, minWaitInMs: 10 },
  });
  return createAuditInterceptors({
    recorder: createRecorder({
      service: "bench",
      emitters: [createLogEmitter({ destination: logFile() })],
      ...(chained ? {} : { chain: false }),
      // "full-failures": successful authn and allowed authz are counted, not logged (one event per call).
      ...(variant === "full-failures" && { record: FAILURES_ONLY }),
    }),
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

/** The record policy of "full-failures": refusals and every mutation recorded, successes counted. */
const FAILURES_ONLY: RecordPolicy = { "authn.result": "failures", "authz.decision": "failures" };

/** Folders of this server's log files, removed when it exits. */
const logFolders: string[] = [];
process.on("exit", () => {
  for (const folder of logFolders) rmSync(folder, { recursive: true, force: true });
});
// The orchestrator ends its servers with SIGTERM when it exits, maybe before they read its "exit":
// leave through process.exit then too, so that the folders are removed.
process.once("SIGTERM", () => process.exit(0));

function logFile(): string {
  const folder = mkdtempSync(join(tmpdir(), "grpc-audit-bench-"));
  logFolders.push(folder);
  return join(folder, "audit.ndjson");
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
      return [rawLogLinesAtStatus(1, batchedFileLogger(logFile()))];
    case "als+log":
      return [alsAroundInboundEvents(), rawLogLinesAtStatus(1, batchedFileLogger(logFile()))];
    case "als+3log":
      return [alsAroundInboundEvents(), rawLogLinesAtStatus(3, batchedFileLogger(logFile()))];
    case "audit+noop":
      return audited(createNoopEmitter());
    case "audit+log":
      return audited(createLogEmitter({ destination: logFile() }));
    case "audit+log-unchained":
      return audited(createLogEmitter({ destination: logFile() }), false);
    case "audit+log-no-request-id":
      return audited(createLogEmitter({ destination: logFile() }), true, false);
    case "authn+log":
      return fullChain(false);
    case "full":
      return fullChain();
    case "full-unchained":
      return fullChain(true, false);
    case "full-failures":
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
process.send?.({ port, node: process.version });
