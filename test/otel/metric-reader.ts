import type { Attributes } from "@opentelemetry/api";
import { DataPointType, MeterProvider, type MetricData, MetricReader } from "@opentelemetry/sdk-metrics";

/** A MetricReader that collects on demand, the way an exporter's reader does on its schedule. */
class OnDemandReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One collected metric: what kind of instrument made it, its unit and description, and its points. */
export interface CollectedMetric {
  instrument: "counter" | "updowncounter" | "histogram" | "other";
  unit: string;
  description: string;
  points: { attributes: Attributes; value: unknown }[];
}

function instrumentOf(metric: MetricData): CollectedMetric["instrument"] {
  if (metric.dataPointType === DataPointType.HISTOGRAM) return "histogram";
  if (metric.dataPointType !== DataPointType.SUM) return "other";
  return metric.isMonotonic ? "counter" : "updowncounter";
}

/** A MeterProvider whose metrics a test reads with `collect()`, by metric name. */
export function testMeterProvider(): {
  meterProvider: MeterProvider;
  collect(): Promise<Map<string, CollectedMetric>>;
} {
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    meterProvider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, "metric collection failed");
      const collected = new Map<string, CollectedMetric>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          collected.set(metric.descriptor.name, {
            instrument: instrumentOf(metric),
            unit: metric.descriptor.unit,
            description: metric.descriptor.description,
            points: metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
          });
        }
      }
      return collected;
    },
  };
}
