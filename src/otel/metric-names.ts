/**
 * The metrics `instrumentAudit` and `instrumentSink` report: name, instrument, unit and description,
 * in one table so the code and docs/opentelemetry.md cannot drift apart (a test compares them).
 * Names follow the OpenTelemetry naming guidance: a `grpc_audit.` namespace, counters of countable
 * things pluralised, UpDownCounters not (`….count`, `….usage`), units in UCUM (`{event}`, `By`, `s`).
 */
export const AUDIT_METRICS = {
  recorded: {
    name: "grpc_audit.events.recorded",
    instrument: "counter",
    unit: "{event}",
    description: "Audit events the Recorder built and handed to its emitters, by event type.",
  },
  accepted: {
    name: "grpc_audit.events.accepted",
    instrument: "counter",
    unit: "{event}",
    description: "Audit events the Recorder's emitters accepted.",
  },
  failed: {
    name: "grpc_audit.events.failed",
    instrument: "counter",
    unit: "{event}",
    description: "Audit events lost because they could not be built, chained or emitted.",
  },
  recorderDrops: {
    name: "grpc_audit.record.drops",
    instrument: "counter",
    unit: "{event}",
    description:
      "Audit events dropped, each once: by the Recorder's emitters (under a multi emitter, by at least one of them), or by the Recorder itself after close().",
  },
  refused: {
    name: "grpc_audit.record.refusals",
    instrument: "counter",
    unit: "{call}",
    description: "Record calls refused because their input could not become an audit event.",
  },
  errors: {
    name: "grpc_audit.record.errors",
    instrument: "counter",
    unit: "{error}",
    description: "Failures reported to the Recorder, such as a rule's target id extractor throwing.",
  },
  attributesDropped: {
    name: "grpc_audit.attributes.dropped",
    instrument: "counter",
    unit: "{attribute}",
    description: "Attribute entries left out of audit events: over the limit, or a key or value not valid.",
  },
  dropped: {
    name: "grpc_audit.events.dropped",
    instrument: "counter",
    unit: "{event}",
    description:
      "Audit events an emitter dropped, by emitter, reason and (delivery emitters) event type; not the Recorder's own drops after close().",
  },
  authn: {
    name: "grpc_audit.authn.attempts",
    instrument: "counter",
    unit: "{attempt}",
    description:
      "Authentication attempts (recorded or counted by a record policy), by outcome and failure reason.",
  },
  authz: {
    name: "grpc_audit.authz.decisions",
    instrument: "counter",
    unit: "{decision}",
    description: "Authorization decisions (recorded or counted by a record policy), by decision.",
  },
  skipped: {
    name: "grpc_audit.events.skipped",
    instrument: "counter",
    unit: "{event}",
    description: "Successes a record policy counted instead of recording, by event type.",
  },
  delivered: {
    name: "grpc_audit.events.delivered",
    instrument: "counter",
    unit: "{event}",
    description: "Audit events a delivery emitter's sink acknowledged.",
  },
  droppedAfterAccept: {
    name: "grpc_audit.events.dropped_after_accept",
    instrument: "counter",
    unit: "{event}",
    description:
      "Audit events an emitter accepted, then dropped: a delivery emitter's, or a log emitter's given up on a failed destination (also in grpc_audit.events.dropped, by reason).",
  },
  spooled: {
    name: "grpc_audit.events.spooled",
    instrument: "counter",
    unit: "{event}",
    description: "Audit events a delivery emitter committed to its spool.",
  },
  retries: {
    name: "grpc_audit.delivery.retries",
    instrument: "counter",
    unit: "{write}",
    description: "Batch writes a delivery emitter repeated after its sink failed.",
  },
  queueEvents: {
    name: "grpc_audit.delivery.queue.event.count",
    instrument: "updowncounter",
    unit: "{event}",
    description: "Audit events a delivery emitter holds in memory: queued or being written.",
  },
  queueBytes: {
    name: "grpc_audit.delivery.queue.usage",
    instrument: "updowncounter",
    unit: "By",
    description: "Encoded bytes of the audit events a delivery emitter holds in memory.",
  },
  parkedEvents: {
    name: "grpc_audit.delivery.parked.event.count",
    instrument: "updowncounter",
    unit: "{event}",
    description: "Audit events of the park overflow policy waiting for queue space.",
  },
  spoolEvents: {
    name: "grpc_audit.delivery.spool.event.count",
    instrument: "updowncounter",
    unit: "{event}",
    description: "Audit events in a delivery emitter's spool, committed or waiting for the next commit.",
  },
  spoolBytes: {
    name: "grpc_audit.delivery.spool.usage",
    instrument: "updowncounter",
    unit: "By",
    description: "Encoded bytes of the committed rows of a delivery emitter's spool.",
  },
  sinkWriteDuration: {
    name: "grpc_audit.sink.write.duration",
    instrument: "histogram",
    unit: "s",
    description: "Duration of one batch write to a sink, failed writes included.",
  },
} as const;

/** Attribute keys of the audit metrics. */
export const AUDIT_METRIC_ATTRIBUTES = {
  eventType: "grpc_audit.event.type",
  emitterName: "grpc_audit.emitter.name",
  dropReason: "grpc_audit.drop.reason",
  authnOutcome: "grpc_audit.authn.outcome",
  authnFailureReason: "grpc_audit.authn.failure_reason",
  authzDecision: "grpc_audit.authz.decision",
  sinkName: "grpc_audit.sink.name",
  errorType: "error.type",
} as const;

/** Bucket boundaries (seconds) advised for `grpc_audit.sink.write.duration`: 1 ms to 30 s. */
export const SINK_WRITE_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;
