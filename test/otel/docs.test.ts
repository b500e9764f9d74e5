import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AUDIT_METRICS } from "../../src/otel/index.js";

const INSTRUMENTS = { counter: "Counter", updowncounter: "UpDownCounter", histogram: "Histogram" } as const;

describe("docs/opentelemetry.md", () => {
  it("documents every metric, and only those, with its instrument and unit", () => {
    const page = readFileSync(new URL("../../docs/opentelemetry.md", import.meta.url), "utf8");
    const rows = [...page.matchAll(/^\| `(grpc_audit\.[\w.]+)` *\| (\w+) *\| `([^`]+)` *\|/gm)].map(
      ([, name, instrument, unit]) => [name, instrument, unit],
    );
    expect(rows).toStrictEqual(
      Object.values(AUDIT_METRICS).map((m) => [m.name, INSTRUMENTS[m.instrument], m.unit]),
    );
  });
});
