// The "floor" interceptors of the server benchmarks: what any audit layer with an async-context scope
// and a log line per event pays before it does anything else. No grpc-audit code runs per call.
import { AsyncLocalStorage } from "node:async_hooks";
import { ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import pino from "pino";
import { LineBatcher, type SonicBoomLike } from "../../src/emitters/line-batcher.js";
import { createRecorder, eventToJson } from "../../src/index.js";
import { createMemoryEmitter } from "../../src/testing/index.js";

/** Raw pino writing to `path` the way the LogEmitter writes to a file it owns (LineBatcher, SonicBoom). */
export function batchedFileLogger(path: string): pino.Logger {
  const file = pino.destination({ dest: path, sync: false }) as unknown as SonicBoomLike;
  return pino({ level: "info" }, new LineBatcher(file, (error) => console.error(error)));
}

/**
 * The floor of "`lines` log lines per call": raw `logger` logs the proto3 JSON of a resource-mutation
 * event made once up front, `lines` times at every status. No audit code runs per call (the event is
 * built without a scope, so AsyncLocalStorage stays off). The full chain writes three events per call.
 */
export function rawLogLinesAtStatus(lines: number, logger: pino.Logger): ServerInterceptor {
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
  return (_method, call) =>
    new ServerInterceptingCall(call, {
      sendStatus: (status, next) => {
        for (let i = 0; i < lines; i++) logger.info({ audit }, "resource.mutation");
        next(status);
      },
    });
}

/** Only what the audit scope costs by itself: an AsyncLocalStorage run around each inbound event. */
export function alsAroundInboundEvents(): ServerInterceptor {
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
