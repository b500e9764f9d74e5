import { once } from "node:events";
import pino, { type DestinationStream, type Level, type Logger } from "pino";
import { AuditConfigError, AuditEmitError, toError } from "../errors/index.js";
import { eventKind } from "../event/kinds.js";
import { eventToJson } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { type Emitter, EmitterCounters, flushReport, report } from "./emitter.js";
import { LineBatcher, type SonicBoomLike } from "./line-batcher.js";

/** Options of `createLogEmitter`. Give exactly one of `logger` or `destination`. */
export interface LogEmitterOptions {
  /** Your pino logger. The emitter writes to it and flushes it, but never closes it. */
  logger?: Logger;
  /**
   * Where to write instead: a file path, a file descriptor (1 = stdout) or a stream. For a path or a
   * descriptor the emitter owns the destination and closes it on `close()`.
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
 * An emitter writing one pino JSON line per event: the event in proto3 JSON under `key` (default
 * "audit") and its kind ("authz.decision", ...) as the message. `close()` loses nothing that was
 * accepted: it writes out pino's buffer synchronously (pino's own `flush(cb)` can call back before the
 * data is written) and, for a destination the emitter opened, closes the file.
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
  const { logger, ownedStream, stream, batcher } = resolveLogger(options, level, (error) =>
    fail("write failed", error),
  );
  const key = options.key ?? "audit";
  const counters = new EmitterCounters(options.name ?? "log");
  const onError = options.onError;
  let closed = false;
  let openError: unknown;

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
      try {
        logger[level]({ [key]: eventToJson(event) }, eventKind(event.eventType));
      } catch (error) {
        return fail("write failed", error);
      }
      counters.emitted++;
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

function resolveLogger(
  options: LogEmitterOptions,
  level: Level,
  onBatchError: (error: unknown) => void,
): {
  logger: Logger;
  stream: unknown;
  ownedStream?: SonicBoomLike;
  batcher?: LineBatcher;
} {
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError("log emitter: options must be an object with a `logger` or a `destination`");
  }
  const { logger, destination } = options;
  if (logger !== undefined && destination !== undefined) {
    throw new AuditConfigError("log emitter: give either `logger` or `destination`, not both");
  }
  if (logger !== undefined) {
    if (typeof logger !== "object" || logger === null || typeof logger.isLevelEnabled !== "function") {
      throw new AuditConfigError("log emitter: `logger` must be a pino logger");
    }
    return { logger, stream: (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] };
  }
  if (typeof destination === "string" || typeof destination === "number") {
    if (destination === "") throw new AuditConfigError("log emitter: `destination` must not be empty");
    const sync = options.sync ?? false;
    const ownedStream = pino.destination({
      dest: destination,
      sync,
      mkdir: true,
    }) as unknown as SonicBoomLike;
    if (sync) return { logger: pino({ level }, ownedStream), stream: ownedStream, ownedStream };
    // Asynchronous mode gathers ~8 KiB before a write (at least every 250 ms, and on flush()/close()):
    // one write per line cost ~100 µs of thread-pool CPU per event on a busy server (bench/).
    const batcher = new LineBatcher(ownedStream, onBatchError);
    return { logger: pino({ level }, batcher), stream: ownedStream, ownedStream, batcher };
  }
  if (typeof destination === "object" && destination !== null && typeof destination.write === "function") {
    return { logger: pino({ level }, destination), stream: destination };
  }
  throw new AuditConfigError("log emitter: needs a pino `logger` or a `destination` (path, fd or stream)");
}

function isSonicBoom(stream: unknown): stream is SonicBoomLike {
  return (
    typeof stream === "object" && stream !== null && typeof (stream as SonicBoomLike).flushSync === "function"
  );
}

async function flushStream(logger: Logger, stream: unknown): Promise<void> {
  if (isSonicBoom(stream)) {
    if (stream.fd < 0) await once(stream, "ready"); // rejects if the file cannot be opened
    // An asynchronous write may be in flight; flushSync would write the later lines before it.
    if ((stream as unknown as { _writing: boolean })._writing) await once(stream, "drain");
    stream.flushSync();
    return;
  }
  // Another kind of stream (a transport, a multistream, the user's Writable): ask pino to flush it.
  await new Promise<void>((resolve, reject) => logger.flush((error) => (error ? reject(error) : resolve())));
}
