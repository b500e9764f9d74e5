import { once } from "node:events";
import type { DestinationStream, Level, Logger } from "pino";
import { AuditConfigError, AuditEmitError, toError } from "../errors/index.js";
import { eventKind } from "../event/kinds.js";
import { eventToJson } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { type Emitter, EmitterCounters, flushReport, report } from "./emitter.js";
import { flushStream, resolveLogger } from "./log-destination.js";

/** Options of `createLogEmitter`. Give exactly one of `logger` or `destination`. */
export interface LogEmitterOptions {
  /** Your pino logger. The emitter writes to it and flushes it, but never closes it. Default: none. */
  logger?: Logger;
  /**
   * Where to write instead: a file path, a file descriptor (1 = stdout) or a stream. For a path or a
   * descriptor the emitter owns the destination and closes it on `close()`. Default: none.
   */
  destination?: string | number | DestinationStream;
  /**
   * For a path or descriptor destination: write synchronously. Default false: writes are buffered and
   * written asynchronously in 8 KiB chunks (at least every 250 ms), and `flush()`/`close()` write out the
   * buffer synchronously before resolving.
   * A failed asynchronous write may lose every line buffered with it and counts as one failure; choose
   * true for exact per-event failure counts.
   */
  sync?: boolean;
  /**
   * Most bytes waiting to be written to a destination that does not keep up (a pipe nobody reads, a
   * stalled disk); events that come while more are waiting are dropped and counted as "buffer_full",
   * reported through `onError` once per overload. Default: 16777216 (16 MiB). `Infinity` turns it off.
   * Bounds the emitter's own destination (path or descriptor), and a `logger` or `destination` stream
   * that is a pino.destination (SonicBoom) or a Node Writable; other streams (pino transports,
   * multistreams) buffer as they do themselves.
   */
  maxBufferedBytes?: number;
  /** Level events are logged at. Default: "info". */
  level?: Level;
  /** Key of the event object in each line. Default: "audit". */
  key?: string;
  /** Name in stats and errors. Default: "log". */
  name?: string;
  /** Called once per failure. Default: ignore (failures are still counted). */
  onError?: (error: Error) => void;
}

const LEVELS: readonly Level[] = ["fatal", "error", "warn", "info", "debug", "trace"];

/**
 * Defaults of `LogEmitterOptions`.
 * @internal
 */
export const LOG_EMITTER_DEFAULTS = Object.freeze({ maxBufferedBytes: 16 * 1024 * 1024 });

/**
 * An emitter writing one pino JSON line per event: the event in proto3 JSON under `key` (default
 * "audit") and its kind ("authz.decision", ...) as the message. `close()` loses nothing that was
 * accepted: it writes out pino's buffer synchronously (pino's own `flush(cb)` can call back before the
 * data is written) and, for a destination the emitter opened, closes the file. A file it creates gets
 * mode 0600. What waits to be written is bounded by `maxBufferedBytes`: beyond it events are dropped
 * and counted, never buffered without limit.
 *
 * ```ts
 * const emitter = createLogEmitter({ logger: pino() });
 * const emitter = createLogEmitter({ destination: "/var/log/audit.ndjson" });
 * ```
 */
export function createLogEmitter(options: LogEmitterOptions): Emitter {
  const level = options?.level ?? "info";
  if (!LEVELS.includes(level)) {
    throw new AuditConfigError(
      `log emitter: level must be one of ${LEVELS.join(", ")}, got ${String(level)}`,
    );
  }
  const maxBufferedBytes = options?.maxBufferedBytes ?? LOG_EMITTER_DEFAULTS.maxBufferedBytes;
  if (
    typeof maxBufferedBytes !== "number" ||
    !(Number.isSafeInteger(maxBufferedBytes) || maxBufferedBytes === Number.POSITIVE_INFINITY) ||
    maxBufferedBytes <= 0
  ) {
    throw new AuditConfigError(
      `log emitter: maxBufferedBytes must be a positive whole number of bytes or Infinity, got ${String(maxBufferedBytes)}`,
    );
  }
  const { logger, ownedStream, stream, batcher, waitingBytes } = resolveLogger(options, level, (error) =>
    fail("write failed", error),
  );
  const key = options.key ?? "audit";
  const counters = new EmitterCounters(options.name ?? "log");
  const onError = options.onError;
  let closed = false;
  let openError: unknown;
  // True from the first event dropped for a full buffer until the backlog is down to half the limit:
  // one report per overload, not one per event.
  let overloaded = false;

  if (!logger.isLevelEnabled(level)) {
    throw new AuditConfigError(
      `log emitter: the logger's level "${logger.level}" discards audit events written at "${level}"`,
    );
  }
  let lastError: unknown;
  ownedStream?.on("error", (error: unknown) => {
    if (error === lastError) return; // pino's SonicBoom wrapper re-emits every error once
    lastError = error;
    if (ownedStream.fd < 0) openError = error;
    counters.failed++;
    report(onError, new AuditEmitError(counters.name, "destination write failed", { cause: toError(error) }));
  });

  function fail(message: string, cause: unknown): "failed" {
    counters.failed++;
    report(onError, new AuditEmitError(counters.name, message, { cause: toError(cause) }));
    return "failed";
  }

  function overflow(): "dropped" {
    if (!overloaded) {
      overloaded = true;
      report(
        onError,
        new AuditEmitError(
          counters.name,
          `dropping events (buffer_full): ${maxBufferedBytes} bytes wait for a destination that does not keep up; counted in stats() until it catches up`,
        ),
      );
    }
    return counters.drop("buffer_full");
  }

  async function flush() {
    try {
      if (openError !== undefined) throw openError;
      batcher?.release();
      await flushStream(logger, stream);
      return flushReport(counters.name);
    } catch (error) {
      return flushReport(counters.name, new AuditEmitError(counters.name, "flush failed", { cause: error }));
    }
  }

  return {
    name: counters.name,
    emit(event: AuditEvent) {
      if (closed) return counters.drop("closed");
      // The level can be changed on a live logger; pino would then discard the line without a word.
      if (!logger.isLevelEnabled(level)) return counters.drop("level_disabled");
      if (waitingBytes() >= maxBufferedBytes) return overflow();
      try {
        logger[level]({ [key]: eventToJson(event) }, eventKind(event.eventType));
      } catch (error) {
        return fail("write failed", error);
      }
      counters.emitted++;
      if (overloaded && waitingBytes() <= maxBufferedBytes / 2) overloaded = false;
      return "accepted";
    },
    flush,
    async close() {
      if (closed) return flushReport(counters.name);
      closed = true;
      batcher?.stop();
      const flushed = await flush();
      if (ownedStream === undefined || !flushed.ok) return flushed;
      try {
        const finished = once(ownedStream, "close");
        ownedStream.end();
        await finished;
        return flushed;
      } catch (error) {
        return flushReport(
          counters.name,
          new AuditEmitError(counters.name, "close failed", { cause: error }),
        );
      }
    },
    stats: () => counters.snapshot(),
  };
}
