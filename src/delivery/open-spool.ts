import { AuditConfigError, toError } from "../errors/index.js";
import { report } from "../errors/report.js";
import type { DeliveryCounters, Warnings } from "./delivery-stats.js";
import type { ResolvedDeliveryOptions } from "./options.js";
import { Spool } from "./spool.js";

/**
 * Opens the configured spool (undefined when there is none); any failure but a config error becomes
 * an AuditConfigError naming the path. `onGivenUp` is the spool's (see SpoolConfig); reads and
 * deletes SQLite refuses without damage are noted in `warnings` (reported once per warnIntervalMs).
 * @internal
 */
export function openSpool(
  options: ResolvedDeliveryOptions,
  counters: DeliveryCounters,
  hooks: { warnings: Warnings; onGivenUp: () => void },
): Spool | undefined {
  const config = options.spool;
  if (config === undefined) return undefined;
  try {
    return new Spool({
      path: config.path,
      maxBytes: config.maxBytes,
      synchronous: config.synchronous,
      name: options.name,
      place: options.place,
      onError: (error) => report(options.onError, error),
      onMovedAside: (salvage) => counters.spoolMovedAside(salvage),
      onLost: (rows) => {
        for (let i = 0; i < rows; i++) counters.dropEvent("spool_deleted", 0, true);
      },
      onRefused: (operation, error) => hooks.warnings.note(`spool_${operation}`, error),
      onGivenUp: hooks.onGivenUp,
      opened: options.spoolOpened,
    });
  } catch (error) {
    if (error instanceof AuditConfigError) throw error;
    throw new AuditConfigError(
      `${options.place.label}: cannot open ${options.place.path}spool.path ${config.path}: ${toError(error).message}`,
      { cause: error },
    );
  }
}
