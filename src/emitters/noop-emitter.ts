import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { checkName, checkOptionsObject } from "./check-options.js";
import { type Emitter, EmitterCounters, flushReport } from "./emitter.js";

/**
 * The option names of `createNoopEmitter`.
 * @internal
 */
export const NOOP_OPTION_NAMES = Object.keys({ name: 1 } satisfies Record<
  keyof NonNullable<Parameters<typeof createNoopEmitter>[0]>,
  1
>);

/**
 * An emitter that discards every event on purpose, counting it as emitted. For services that want the
 * interceptors' side effects (actor scope, rejections) without an audit trail, and for benchmarks.
 */
export function createNoopEmitter(
  options: {
    /** Name in stats and errors. Default: "noop". */
    name?: string;
  } = {},
): Emitter {
  checkOptionsObject("noop emitter", options);
  rejectUnknownOptions("noop emitter", options, NOOP_OPTION_NAMES);
  checkName("noop emitter", options.name);
  const counters = new EmitterCounters(options.name ?? "noop");
  let closed = false;
  return {
    name: counters.name,
    emit(_event: AuditEvent) {
      if (closed) return counters.drop("closed");
      counters.emitted++;
      return "accepted";
    },
    flush: async () => flushReport(counters.name),
    close: async () => {
      closed = true;
      return flushReport(counters.name);
    },
    stats: () => counters.snapshot(),
  };
}
