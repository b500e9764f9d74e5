import {
  createDeliveryEmitter,
  type DeliveryEmitter,
  type DeliveryEmitterOptions,
} from "../emitters/delivery/index.js";
import { AuditConfigError } from "../errors/index.js";
import { type BrokerSinkOptions, createBrokerSink } from "./broker-sink.js";

/** Options of `createBrokerEmitter`: the broker sink's, and the delivery pipeline's under `delivery`. */
export interface BrokerEmitterOptions extends BrokerSinkOptions {
  /**
   * Queue bounds, batching, retry, overflow policies and spool of the delivery pipeline (see
   * `createDeliveryEmitter`). Default: the pipeline's defaults (10000 events or 16 MiB in memory,
   * "drop-newest", no spool). Its `maxEventBytes` defaults to what the broker accepts.
   */
  delivery?: Omit<DeliveryEmitterOptions, "sink">;
}

/**
 * Creates an emitter that delivers audit events to a broker topic: the delivery pipeline
 * (`createDeliveryEmitter`) writing into the broker sink (`createBrokerSink`). `emit` never waits for
 * the broker and never throws; batches are published in order, retried with backoff while the broker
 * is down, and spooled to disk when a spool is configured. Delivery is at-least-once: consumers
 * de-duplicate by event id (the `grpc-audit-event-id` header; on NATS the server does it within the
 * stream's duplicate window, as the event id is the JetStream message id).
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
  const { delivery = {}, ...sinkOptions } = options;
  if (typeof delivery !== "object" || delivery === null)
    throw new AuditConfigError("delivery: must be an object of delivery pipeline options");
  if ("sink" in delivery)
    throw new AuditConfigError("delivery.sink: the broker emitter makes its own sink; leave it out");
  return createDeliveryEmitter({ ...delivery, sink: createBrokerSink(sinkOptions) });
}
