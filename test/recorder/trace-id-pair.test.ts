import { Metadata, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import type { TupleChangeInput } from "../../src/recorder/inputs.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { startProjectServer, unary } from "../helpers/project-server.js";
import { fixedRecorder } from "../helpers/recorder.js";

const CALL_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALL_SPAN = "00f067aa0ba902b7";
const OWN_TRACE = "1".repeat(32);
const OWN_SPAN = "2".repeat(16);
const ACTIVE = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331" };
const tuples: TupleChangeInput["tuples"] = [
  { operation: "write", user: "user:a", relation: "r", object: "doc:1" },
];

describe("trace and span ids are one pair", () => {
  it("never joins a record call's own trace id with the span id of the call's traceparent", async () => {
    const memory = createMemoryEmitter({ capacity: 100 });
    const recorder = createRecorder({ service: "projects", emitters: [memory] });
    // A user's interceptor after the audit ones that records tuple changes with ids of its own.
    const own: ServerInterceptor = (_method, call) =>
      new ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMessage: (message, nextMessage) => {
              recorder.recordTupleChange({ tuples, traceId: OWN_TRACE });
              recorder.recordTupleChange({ tuples, traceId: "" });
              recorder.recordTupleChange({ tuples, traceId: OWN_TRACE, spanId: OWN_SPAN });
              recorder.recordTupleChange({ tuples });
              nextMessage(message);
            },
          }),
      });
    const key = await newSigningKey("k1", "ES256");
    const authn = { authenticators: [jwtAuthenticatorFor(key)] };
    const server = await startProjectServer([
      ...createAuditInterceptors({ recorder, rules: auditRules, authn }),
      own,
    ]);
    try {
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${await signToken(key, { sub: "alice" })}`);
      metadata.set("traceparent", `00-${CALL_TRACE}-${CALL_SPAN}-01`);
      await unary(server.client.createProject.bind(server.client), { name: "n" }, metadata);
    } finally {
      await server.close();
    }
    const changes = memory.events.filter((e) => e.eventType === EventType.EVENT_TYPE_TUPLE_CHANGED);
    expect(changes.map((e) => [e.traceId, e.spanId])).toStrictEqual([
      [OWN_TRACE, ""],
      ["", ""],
      [OWN_TRACE, OWN_SPAN],
      [CALL_TRACE, CALL_SPAN],
    ]);
  });

  it("never joins a record call's own trace id with the active span's span id", () => {
    const { recorder, memory } = fixedRecorder({ traceContext: () => ACTIVE });
    recorder.recordTupleChange({ tuples, traceId: OWN_TRACE });
    recorder.recordTupleChange({ tuples, traceId: "" });
    recorder.recordTupleChange({ tuples });
    expect(memory.events.map((e) => [e.traceId, e.spanId])).toStrictEqual([
      [OWN_TRACE, ""],
      ["", ""],
      [ACTIVE.traceId, ACTIVE.spanId],
    ]);
  });

  it("refuses a span id without a trace id as invalid", () => {
    const { recorder, memory, errors } = fixedRecorder({ traceContext: () => ACTIVE });
    expect(recorder.recordTupleChange({ tuples, spanId: OWN_SPAN })).toBe("failed");
    expect(recorder.recordTupleChange({ tuples, traceId: "", spanId: OWN_SPAN })).toBe("failed");
    expect(memory.events).toStrictEqual([]);
    expect(errors.map((e) => e.message)).toStrictEqual([
      "recordTupleChange: spanId needs a traceId: give both, or a traceId alone",
      "recordTupleChange: spanId needs a traceId: give both, or a traceId alone",
    ]);
    expect(recorder.stats().invalid).toBe(2);
  });
});
