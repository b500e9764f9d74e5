// A user's hooks are often async (`onError: async (error) => { await alerts.send(error) }`). A promise
// such a hook returns and rejects must be ignored like a throw: left unhandled, Node's default ends the
// process. Over real loopback gRPC and a real delivery pipeline.
import { credentials, Metadata, Server, type ServiceError, status } from "@grpc/grpc-js";
import { afterEach, beforeEach, expect, it } from "vitest";
import {
  type DeleteProjectRequest,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import type { EventSink } from "../../src/emitters/sink.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { asyncService } from "../../src/server/async-service.js";
import { numberedEvent } from "../delivery/helpers.js";
import { until } from "../helpers/fake-sink.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { callOfKind, METHOD_OF_KIND, startProjectServer } from "../helpers/project-server.js";

/** A hook that fails the way an alerting call does: asynchronously. */
const rejecting =
  (calls: unknown[][]) =>
  async (...args: unknown[]) => {
    calls.push(args);
    throw new Error("alerting endpoint down");
  };

// Node's own listeners (vitest's among them) are set aside, so an unhandled rejection is seen here.
let unhandled: unknown[] = [];
let saved: NodeJS.UnhandledRejectionListener[] = [];
const collect = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  saved = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", collect);
});
afterEach(() => {
  process.removeAllListeners("unhandledRejection");
  for (const listener of saved) process.on("unhandledRejection", listener);
});

/** Lets Node look for rejections without a handler (it does after the microtasks of a macrotask). */
const settled = () => new Promise((resolve) => setTimeout(resolve, 20));

it("ignores the rejection of an async Recorder onError on the RPC path; the call ends OK", async () => {
  const calls: unknown[][] = [];
  const path = METHOD_OF_KIND.unary;
  const throwing = {
    ...(auditRules as RuleTable)[path],
    targetId: () => {
      throw new Error("extractor bug");
    },
  } as AuditRule;
  const recorder = createRecorder({
    service: "projects",
    emitters: [createMemoryEmitter()],
    onError: rejecting(calls),
  });
  const server = await startProjectServer(createAuditInterceptors({ recorder, rules: { [path]: throwing } }));
  try {
    const seen = await callOfKind(server.client, "unary", new Metadata());
    expect(seen.code).toBe(status.OK);
  } finally {
    await server.close();
    await recorder.close();
  }
  await settled();
  expect(calls.length).toBeGreaterThan(0);
  expect(unhandled).toStrictEqual([]);
});

it("ignores the rejections of a delivery emitter's async onError and onSinkRecovered", async () => {
  const errors: unknown[][] = [];
  const recoveries: unknown[][] = [];
  let failures = 1;
  const sink: EventSink = {
    name: "flaky",
    write: async () => {
      if (failures-- > 0) throw new Error("broker down");
    },
  };
  const emitter = createDeliveryEmitter({
    sink,
    flushIntervalMs: 0,
    sleep: async () => {},
    onError: rejecting(errors),
    onSinkRecovered: rejecting(recoveries),
  });
  emitter.emit(numberedEvent(1));
  await until(() => emitter.stats().delivered === 1);
  await emitter.close();
  await settled();
  expect([errors.length, recoveries.length]).toStrictEqual([1, 1]);
  expect(unhandled).toStrictEqual([]);
});

it("ignores the rejection of asyncService's async onInternalError; the call ends INTERNAL", async () => {
  const calls: unknown[][] = [];
  const server = new Server();
  server.addService(
    ProjectServiceService,
    asyncService(
      ProjectServiceService,
      {
        async deleteProject() {
          throw new Error("connect ECONNREFUSED 10.1.2.3:5432");
        },
      } as never,
      { onInternalError: rejecting(calls) },
    ),
  );
  const port = await listenOnLoopback(server);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const error = await new Promise<ServiceError | null>((resolve) =>
      client.deleteProject({ id: "p-1" } as DeleteProjectRequest, (failed) => resolve(failed)),
    );
    expect(error?.code).toBe(status.INTERNAL);
  } finally {
    client.close();
    await stopServer(server);
  }
  await settled();
  expect(calls).toHaveLength(1);
  expect(unhandled).toStrictEqual([]);
});
