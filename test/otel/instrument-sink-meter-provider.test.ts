import { describe, expect, it } from "vitest";
import type { EventSink } from "../../src/emitters/sink.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { instrumentSink } from "../../src/otel/index.js";

describe("instrumentSink meterProvider", () => {
  const sink: EventSink = { name: "s", write: async () => {} };
  const refusal = new AuditConfigError(
    "instrumentSink: `meterProvider` must be an OpenTelemetry MeterProvider",
  );

  it("refuses one without getMeter() with an AuditConfigError naming the option, as instrumentAudit does", () => {
    expect(() => instrumentSink(sink, { meterProvider: {} as never })).toThrow(refusal);
    expect(() => instrumentSink(sink, { meterProvider: {} as never })).toThrow(AuditConfigError);
  });

  it("refuses null instead of taking the global provider", () => {
    expect(() => instrumentSink(sink, { meterProvider: null as never })).toThrow(refusal);
    expect(() => instrumentSink(sink, { meterProvider: null as never })).toThrow(AuditConfigError);
  });
});
