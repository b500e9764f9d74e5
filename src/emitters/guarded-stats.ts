import { AuditEmitError, toError } from "../errors/index.js";
import { report } from "../errors/report.js";
import type { Emitter, EmitterStats } from "./emitter.js";

/**
 * An emitter's stats() that never throws: one that does must not make the multi emitter's or the
 * Recorder's stats(), and with them every metric read from them, throw too. It gives the sink's last
 * good snapshot (zeros before the first) and reports the failure once, until stats() works again.
 * @internal
 */
export function guardedStats(
  sink: Emitter,
  onError: ((error: Error) => void) | undefined,
): () => EmitterStats {
  let last: EmitterStats = { name: sink.name, emitted: 0, dropped: {}, failed: 0 };
  let failing = false;
  return () => {
    try {
      last = sink.stats();
      failing = false;
    } catch (error) {
      if (!failing) report(onError, new AuditEmitError(sink.name, "stats threw", { cause: toError(error) }));
      failing = true;
    }
    return last;
  };
}
