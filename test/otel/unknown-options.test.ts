// instrumentAudit and instrumentSink check their option names.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { instrumentAudit, instrumentSink } from "../../src/otel/index.js";

describe("OpenTelemetry factories refuse unknown option names", () => {
  const cases: [string, () => unknown, string][] = [
    [
      "instrumentAudit",
      () => instrumentAudit({ recorder: { stats: () => ({}) }, meterprovider: {} } as never),
      "instrumentAudit: unknown option `meterprovider` (did you mean `meterProvider`?)",
    ],
    [
      "instrumentSink",
      () => instrumentSink({ name: "s", write: async () => {} }, { monotonicNow: () => 0 } as never),
      "instrumentSink: unknown option `monotonicNow` (did you mean `monotonicNowMs`?)",
    ],
  ];
  for (const [what, create, message] of cases) {
    it(what, () => {
      expect(create).toThrow(AuditConfigError);
      expect(create).toThrow(message);
    });
  }
});
