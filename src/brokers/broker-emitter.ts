import { deliveryEmitterOf } from "../delivery/delivery-emitter.js";
import type { DeliveryEmitter, DeliveryEmitterOptions } from "../delivery/index.js";
import { DELIVERY_DEFAULTS, DELIVERY_OPTION_NAMES, type DeliveryOptionsPlace } from "../delivery/options.js";
import { resolveDeliveryOptions } from "../delivery/resolve-options.js";
import type { EventSink } from "../emitters/sink.js";
import { AuditConfigError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { Broker } from "./broker.js";
import { type BrokerSinkOptions, createBrokerSink } from "./broker-sink.js";

/** Options of `createBrokerEmitter`: the broker sink's, and the delivery pipeline's under `delivery`. */
export interface BrokerEmitterOptions extends BrokerSinkOptions {
  /**
   * Queue bounds, batching, retry, overflow policies and spool of the delivery pipeline (see
   * `createDeliveryEmitter`). Default: the pipeline's defaults (10000 events or 16 MiB in memory,
   * "drop-newest", no spool), except `maxInFlightBatches`: 4 for a broker that keeps concurrent
   * publishes in order (`publishesInCallOrder`, the NATS adapter), else 1. Its `maxEventBytes`
   * defaults to what the broker accepts.
   */
  delivery?: Omit<DeliveryEmitterOptions, "sink">;
  /**
   * Wraps the broker sink the emitter makes, once, before the pipeline gets it: for a sink that times
   * or observes writes, such as `instrumentSink` of `grpc-audit/otel`
   * (`wrapSink: (sink) => instrumentSink(sink, { meterProvider })`). It must return an EventSink that
   * keeps the sink's limits (`maxEventBytes`, `acceptsEvent`) and close. Default: none, the broker sink.
   */
  wrapSink?: (sink: EventSink) => EventSink;
}

/** The option names of `BrokerEmitterOptions` (the record's type makes a missing or extra name a compile error). */
const BROKER_EMITTER_OPTION_NAMES = Object.keys({
  broker: 1,
  topic: 1,
  encoding: 1,
  partitionKey: 1,
  cloudEvents: 1,
  delivery: 1,
  wrapSink: 1,
} satisfies Record<keyof BrokerEmitterOptions, 1>);

/** The names `delivery` may hold: the pipeline's, but the sink the emitter makes itself. */
const DELIVERY_NAMES = DELIVERY_OPTION_NAMES.top.filter((name) => name !== "sink");

/** The delivery options as the caller of `createBrokerEmitter` wrote them: "broker emitter: delivery.maxQueueEvents". */
const DELIVERY_PLACE: DeliveryOptionsPlace = Object.freeze({ label: "broker emitter", path: "delivery." });

/**
 * Where the broker emitter's delivery defaults differ from `DELIVERY_DEFAULTS`, for a broker that keeps
 * concurrent publishes in order (`Broker.publishesInCallOrder`): up to 4 batches are written at once
 * instead of one (the NATS adapter sends them one after the other, sharing one window of PubAcks).
 * More did not publish faster in `bench/nats-sink.ts`.
 * @internal
 */
export const BROKER_DELIVERY_DEFAULTS = Object.freeze({ maxInFlightBatches: 4 });

/**
 * Creates an emitter that delivers audit events to a broker topic: the delivery pipeline
 * (`createDeliveryEmitter`) writing into the broker sink (`createBrokerSink`). `emit` never waits for
 * the broker and never throws; batches are published in order, up to `maxInFlightBatches` at a time
 * (default: 4 when the broker keeps concurrent publishes in order, as NATS does, else 1), retried
 * with backoff while the broker is down, and spooled to disk when a spool is configured. Delivery is
 * at-least-once: consumers de-duplicate by event id (the `grpc-audit-event-id` header; on NATS the
 * server does it within the stream's duplicate window, as the event id is the JetStream message id).
 * With several batches in flight, a batch that failed is published again after the ones that followed
 * it, so after a failure events can arrive out of order; `delivery: { maxInFlightBatches: 1 }` keeps
 * the order between batches.
 *
 * ```ts
 * import { createBrokerEmitter, createRecorder } from "grpc-audit";
 * import { createNatsBroker } from "grpc-audit/nats";
 *
 * const broker = await createNatsBroker({ servers: "nats://127.0.0.1:4222" });
 * const emitter = createBrokerEmitter({
 *   broker,
 *   topic: "audit.projects",
 *   delivery: { overflow: "spool", spool: { path: "/var/lib/projects/audit-spool.db" } },
 * });
 * const recorder = createRecorder({ service: "projects", emitters: [emitter] });
 * ```
 */
export function createBrokerEmitter(options: BrokerEmitterOptions): DeliveryEmitter {
  if (typeof options !== "object" || options === null)
    throw new AuditConfigError(
      `broker emitter: options must be an object with \`broker\` and \`topic\`, got ${shown(options)}`,
    );
  rejectUnknownOptions("broker emitter", options, BROKER_EMITTER_OPTION_NAMES);
  const { delivery = {}, wrapSink, ...sinkOptions } = options;
  if (typeof delivery !== "object" || delivery === null || Array.isArray(delivery))
    throw new AuditConfigError(
      `broker emitter: \`delivery\` must be an object of delivery pipeline options, got ${shown(delivery)}`,
    );
  if ("sink" in delivery)
    throw new AuditConfigError(
      "broker emitter: `delivery.sink`: the broker emitter makes its own sink; leave it out (`wrapSink` wraps it)",
    );
  if (wrapSink !== undefined && typeof wrapSink !== "function")
    throw new AuditConfigError(
      `broker emitter: \`wrapSink\` must be a function of the broker sink, got ${shown(wrapSink)}`,
    );
  // `block`, renamed, is left to the pipeline, which names its new name.
  if (!("block" in delivery)) rejectUnknownOptions("broker emitter: delivery", delivery, DELIVERY_NAMES);
  const pipelineOptions: DeliveryEmitterOptions = {
    ...delivery,
    // Only an absent value takes the default: anything else is the pipeline's to check.
    maxInFlightBatches:
      delivery.maxInFlightBatches === undefined
        ? defaultInFlight(sinkOptions.broker)
        : delivery.maxInFlightBatches,
    sink: wrapped(createBrokerSink(sinkOptions), wrapSink),
  };
  // Checked here, so a bad option is named as the caller wrote it ("broker emitter:
  // delivery.maxQueueEvents"), not as the pipeline calls it.
  return deliveryEmitterOf(resolveDeliveryOptions(pipelineOptions, DELIVERY_PLACE));
}

function wrapped(sink: EventSink, wrapSink: ((sink: EventSink) => EventSink) | undefined): EventSink {
  if (wrapSink === undefined) return sink;
  const result = wrapSink(sink);
  if (typeof result !== "object" || result === null || typeof result.write !== "function")
    throw new AuditConfigError(
      "broker emitter: `wrapSink` must return an EventSink (an object with write())",
    );
  return result;
}

function defaultInFlight(broker: Broker | undefined): number {
  // A broker that might reorder concurrent publishes gets one batch at a time, as the pipeline's default.
  return broker?.publishesInCallOrder === true
    ? BROKER_DELIVERY_DEFAULTS.maxInFlightBatches
    : DELIVERY_DEFAULTS.maxInFlightBatches;
}
