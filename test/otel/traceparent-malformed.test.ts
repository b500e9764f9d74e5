/**
 * Events of calls whose `traceparent` is malformed carry no trace ids, never wrong ones, with
 * `otelTraceContext()` on the Recorder and no OpenTelemetry SDK registered (no context manager, no
 * span ever active): the reader then costs a lookup and changes nothing. Real gRPC over loopback.
 */
import { Metadata } from "@grpc/grpc-js";
import { context, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { otelTraceContext } from "../../src/otel/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;
const OTHER = "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01";

const memory = createMemoryEmitter();
const errors: Error[] = [];
const recorder = createRecorder({
  service: "projects",
  emitters: [memory],
  traceContext: otelTraceContext(),
  onError: (error) => errors.push(error),
});
let server: ProjectServer;

beforeAll(async () => {
  server = await startProjectServer(createAuditInterceptors({ recorder, rules: auditRules }));
});
afterAll(async () => {
  await server.close();
});

/** Calls CreateProject with these metadata entries; returns the mutation event's trace and span id. */
async function idsOf(headers: readonly (readonly [string, string])[]): Promise<[string, string]> {
  const metadata = new Metadata();
  for (const [key, value] of headers) metadata.add(key, value);
  const before = memory.events.length;
  const [error] = await unary(server.client.createProject.bind(server.client), { name: "n" }, metadata);
  expect(error).toBeNull();
  const events = (await memory.waitForCount(before + 1)).slice(before);
  expect(events.map((e) => e.eventType)).toStrictEqual([EventType.EVENT_TYPE_RESOURCE_MUTATION]);
  return [events[0]?.traceId ?? "?", events[0]?.spanId ?? "?"];
}

describe("otelTraceContext without an SDK, and the call's traceparent", () => {
  it("has no active span to read: the API's root context, no span in it", () => {
    expect(context.active()).toBe(ROOT_CONTEXT);
    expect(trace.getSpanContext(context.active())).toBeUndefined();
  });

  it("takes the ids of a valid traceparent, also with a tracestate it does not read", async () => {
    expect(await idsOf([["traceparent", VALID]])).toStrictEqual([TRACE_ID, SPAN_ID]);
    const garbage = ["tracestate", "=,,,@@@=x,k=v=w,".repeat(20)] as const;
    expect(await idsOf([["traceparent", VALID], garbage])).toStrictEqual([TRACE_ID, SPAN_ID]);
    // A later version may append fields (W3C Trace Context §3.2.4): its ids are read.
    expect(await idsOf([["traceparent", `01-${TRACE_ID}-${SPAN_ID}-01-extra`]])).toStrictEqual([
      TRACE_ID,
      SPAN_ID,
    ]);
  });

  it.each([
    ["the forbidden version ff", `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${SPAN_ID}-01`],
    ["an all-zero span id", `00-${TRACE_ID}-${"0".repeat(16)}-01`],
    ["upper-case hex", VALID.toUpperCase()],
    ["an extra field on version 00", `${VALID}-extra`],
    ["a short trace id", `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ["non-hex digits", `00-${TRACE_ID.replace("4", "g")}-${SPAN_ID}-01`],
    ["no flags", `00-${TRACE_ID}-${SPAN_ID}`],
    ["a later version's value over 512 characters", `01-${TRACE_ID}-${SPAN_ID}-01-${"a".repeat(500)}`],
  ])("records no trace for %s", async (_, value) => {
    expect(await idsOf([["traceparent", value]])).toStrictEqual(["", ""]);
  });

  it("records no trace for a duplicated traceparent header (W3C: restart the trace)", async () => {
    expect(
      await idsOf([
        ["traceparent", VALID],
        ["traceparent", OTHER],
      ]),
    ).toStrictEqual(["", ""]);
  });

  it("reported nothing", () => {
    expect(errors).toStrictEqual([]);
  });
});
