import { once } from "node:events";
import type { DestinationStream, Level, Logger } from "pino";
import pino from "pino";
import { AuditConfigError, AuditEmitError, toError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { report } from "../errors/report.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { eventKind } from "../event/kinds.js";
import { eventToJson } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { checkName, checkOnError } from "./check-options.js";
import { type Emitter, EmitterCounters, type FlushReport, type FlushResult, flushReport } from "./emitter.js";
import { flushStream, pinoField, resolveLogger } from "./log-destination.js";
import { deadlineIn, msUntil } from "./sonic-drain.js";
import { WriteOutage } from "./write-outage.js";

/** Options of `createLogEmitter`. Give exactly one of `logger` or `destination`. */
export interface LogEmitterOptions {
  /**
   * Your pino logger, from this package's pino or your own copy of it. The emitter writes to it and
   * flushes it, but never closes it. Default: none.
   */
  logger?: Logger;
  /**
   * Where to write instead: a file path, a file descriptor (1 = stdout) or a stream. For a path or a
   * descriptor the emitter owns the destination and closes it on `close()`. Default: none.
   */
  destination?: string | number | DestinationStream;
  /**
   * For a path or descriptor destination: write synchronously. Default false: writes are buffered and
   * written asynchronously in 8 KiB chunks (at least every 250 ms), and `flush()`/`close()` wait until
   * the buffer is written (for up to `flushTimeoutMs`).
   * Once an asynchronous write has failed, events are refused ("failed") until a write succeeds
   * again; the lines accepted before it are tried again, and counted as dropped ("destination_failed")
   * if `close()` gives up on them. Synchronously, an event whose write failed is refused ("failed")
   * and its line dropped. Either way `onError` hears of a run of failed writes once, not per event.
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
  /**
   * How long `flush()` and `close()` wait for the destination to write what it holds. Past it they
   * report ok: false, status "timeout" and `pending`, the events not yet written (see FlushResult),
   * and `close()` gives up on a destination it owns. Default: 30000 (as the delivery emitter's).
   */
  flushTimeoutMs?: number;
  /** Level events are logged at. Default: "info". */
  level?: Level;
  /**
   * Key of the event object in each line; not one of pino's own fields (msg, time, level, pid,
   * hostname, err, nor a given logger's message or error key). Default: "audit".
   */
  key?: string;
  /** Name in stats and errors. Default: "log". */
  name?: string;
  /** Called once per failure. Default: ignore (failures are still counted). */
  onError?: (error: Error) => void;
}

/**
 * The option names of `LogEmitterOptions` (the record type makes a missing or extra name a compile error).
 * @internal
 */
export const LOG_EMITTER_OPTION_NAMES = Object.keys({
  logger: 1,
  destination: 1,
  sync: 1,
  maxBufferedBytes: 1,
  flushTimeoutMs: 1,
  level: 1,
  key: 1,
  name: 1,
  onError: 1,
} satisfies Record<keyof LogEmitterOptions, 1>);

const LEVELS: readonly Level[] = ["fatal", "error", "warn", "info", "debug", "trace"];

/**
 * Defaults of `LogEmitterOptions`.
 * @internal
 */
export const LOG_EMITTER_DEFAULTS = Object.freeze({
  maxBufferedBytes: 16 * 1024 * 1024,
  flushTimeoutMs: 30_000,
});

/** pino's own fields of each line, with a given logger's message and error keys when they can be read. */
function pinoKeys(logger: unknown): string[] {
  const keys = ["msg", "time", "level", "pid", "hostname", "err"];
  if (typeof logger !== "object" || logger === null) return keys;
  for (const symbol of [pino.symbols.messageKeySym, pino.symbols.errorKeySym]) {
    const own = pinoField(logger, symbol);
    if (typeof own === "string" && !keys.includes(own)) keys.push(own);
  }
  return keys;
}

/**
 * An emitter writing one pino JSON line per event: the event in proto3 JSON under `key` (default
 * "audit") and its kind ("authz.decision", ...) as the message. `flush()` and `close()` resolve once
 * every accepted event is written (pino's own `flush(cb)` can call back before the data is), then
 * `close()` closes a destination the emitter opened. A destination that does not take them within
 * `flushTimeoutMs` (a pipe nobody reads) makes them report ok: false, "timeout" and the events still
 * pending, never block the event loop; `close()` then gives up on a destination it owns: what it holds
 * is written if the destination takes it later, and the emitter's exit hooks are removed, so that
 * `process.exit()` does not try to write it out synchronously. After a `close()` that failed (a write
 * error) it gives up on it too, closing it at once and counting the events it held as dropped
 * ("destination_failed"). Once an asynchronous write to a destination it opened has failed, `emit`
 * returns "failed" until a write succeeds again. It does so for good once a `logger` or
 * `destination` stream of yours has stopped taking lines (pino makes its writes no-ops after a broken
 * pipe; or it was destroyed): `flush()` and `close()` then fail at once, and `close()` counts the lines
 * the stream held as dropped ("destination_failed"). A file it creates gets mode 0600. What waits to
 * be written is bounded by `maxBufferedBytes`: beyond it events are dropped and counted, never
 * buffered without limit.
 *
 * ```ts
 * const emitter = createLogEmitter({ logger: pino() });
 * const emitter = createLogEmitter({ destination: "/var/log/audit.ndjson" });
 * ```
 */
export function createLogEmitter(options: LogEmitterOptions): Emitter {
  if (typeof options === "object" && options !== null) {
    rejectUnknownOptions("log emitter", options, LOG_EMITTER_OPTION_NAMES);
  }
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
  const flushTimeoutMs = options?.flushTimeoutMs ?? LOG_EMITTER_DEFAULTS.flushTimeoutMs;
  if (typeof flushTimeoutMs !== "number" || !Number.isFinite(flushTimeoutMs) || flushTimeoutMs < 0) {
    throw new AuditConfigError(
      `log emitter: flushTimeoutMs must be a number of ms ≥ 0, got ${String(flushTimeoutMs)}`,
    );
  }
  const key = options?.key ?? "audit";
  // An empty key writes lines that `verify --log` cannot find the event in.
  if (typeof key !== "string" || key === "") {
    throw new AuditConfigError(`log emitter: key must be a non-empty string, got ${shown(key)}`);
  }
  const reserved = pinoKeys(options?.logger);
  if (reserved.includes(key)) {
    throw new AuditConfigError(
      `log emitter: key ${shown(key)} is one of pino's own fields (${reserved.join(", ")}): each line would hold it twice and the event could not be read back; choose another, such as "audit"`,
    );
  }
  checkName("log emitter", options?.name);
  checkOnError("log emitter", options?.onError);
  if (options?.sync !== undefined && typeof options.sync !== "boolean") {
    throw new AuditConfigError(`log emitter: sync must be true or false, got ${shown(options.sync)}`);
  }
  const destination = resolveLogger(options, level, (error) => {
    // A destination known to have failed (or never opened) throws at each handover of held lines:
    // reported once already, and its lines are counted when close() gives them up.
    if (outage?.failed === true) return;
    fail("write failed", error);
  });
  const { logger, ownedStream, stream, batcher, waitingBytes } = destination;
  const counters = new EmitterCounters(options.name ?? "log");
  const onError = options.onError;
  let closing: Promise<FlushReport> | undefined;
  let abandoned = false;
  // Asynchronous writes to a destination the emitter opened: set while the destination has failed.
  const outage =
    batcher !== undefined && ownedStream !== undefined ? new WriteOutage(ownedStream) : undefined;
  let openError: unknown;
  // True from the first event dropped for a full buffer until the backlog is down to half the limit:
  // one report per overload, not one per event.
  let overloaded = false;

  if (!logger.isLevelEnabled(level)) {
    throw new AuditConfigError(
      `log emitter: the logger's level "${logger.level}" discards audit events written at "${level}": ` +
        (LEVELS.includes(logger.level as Level)
          ? `give the emitter a \`level\` the logger writes (such as "${logger.level}"), or a logger at "${level}"`
          : `give it a logger at "${level}"`),
    );
  }
  let lastError: unknown;
  // Errors of the destination so far: in sync mode, one during an event's write means that event failed.
  let streamErrors = 0;
  // Sync mode: set by a failed write, reported then; cleared by a write that succeeds. One report per
  // run of failures, as asynchronously: a full disk is not one report per event.
  let syncFailing = false;
  // Why a stream of yours stopped taking lines for good, once noticed (nothing reports it: watchStopped).
  let stoppedError: Error | undefined;
  ownedStream?.on("error", (error: unknown) => {
    if (error === lastError) return; // pino's SonicBoom wrapper re-emits every error once
    lastError = error;
    streamErrors++;
    // A non-blocking pipe given up on after close() timed out: its lines were reported as pending.
    if (abandoned && (error as { code?: unknown } | null)?.code === "EAGAIN") return;
    if (outage === undefined) {
      // Synchronously, the write of the event being emitted failed: that event is the failure.
      if (ownedStream.fd < 0) openError = error;
      counters.failed++;
      if (syncFailing) return;
      syncFailing = true;
    } else if (!outage.begin(error)) {
      // Reported once per outage. Counted by event: those refused while it lasts, those close() gives up.
      return;
    }
    destinationFailed(error);
  });

  /** Reports a destination that failed; its callers report each outage once, not each event. */
  function destinationFailed(cause: unknown): void {
    report(onError, new AuditEmitError(counters.name, "destination write failed", { cause: toError(cause) }));
  }

  /** Why a stream of yours stopped taking lines, once it has; reported the first time it is seen. */
  function stoppedStream(): Error | undefined {
    if (stoppedError !== undefined || destination.stopped === undefined) return stoppedError;
    stoppedError = destination.stopped();
    if (stoppedError !== undefined) destinationFailed(stoppedError);
    return stoppedError;
  }

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

  /** Writes out what is accepted; by `deadline` (from `deadlineIn`), else reports "timeout". */
  async function flushBy(deadline: number): Promise<FlushReport> {
    try {
      const failedForGood = openError ?? outage?.permanentError ?? stoppedStream();
      if (failedForGood !== undefined) throw failedForGood;
      batcher?.release();
      if ((await flushStream(logger, stream, deadline)) === "ok") return flushReport(counters.name);
      return timedOut();
    } catch (error) {
      const failed = flushReport(
        counters.name,
        new AuditEmitError(counters.name, "flush failed", { cause: error }),
      );
      // The lines a destination the emitter opened still holds (tried again by its next write), or a
      // stream of yours that stopped (given up by close()).
      const held = ownedStream !== undefined || stoppedStream() !== undefined;
      const pending = held ? destination.pendingLines() : undefined;
      if (!pending) return failed;
      return { ok: false, results: failed.results.map((result) => ({ ...result, pending })), pending };
    }
  }

  /**
   * Gives up on a failed destination the emitter opened, or a stream of yours that stopped: what it
   * holds is dropped, counted and named.
   */
  function giveUp(flushed: FlushReport): FlushReport {
    abandoned = true;
    const lost = destination.pendingLines() ?? 0;
    destination.abandon?.(true);
    if (lost === 0) return flushed;
    counters.dropped.destination_failed = (counters.dropped.destination_failed ?? 0) + lost;
    const error = new AuditEmitError(
      counters.name,
      `close failed: dropped ${lost === 1 ? "1 event" : `${lost} events`} (destination_failed ${lost}): the destination failed and what it held is given up`,
      { cause: flushed.results[0]?.error?.cause },
    );
    report(onError, error);
    return flushReport(counters.name, error);
  }

  function timedOut(): FlushReport {
    const result: FlushResult = { emitter: counters.name, status: "timeout" };
    const pending = destination.pendingLines();
    if (pending === undefined) return { ok: false, results: [result] };
    return { ok: false, results: [{ ...result, pending }], pending };
  }

  async function close(): Promise<FlushReport> {
    batcher?.stop();
    const deadline = deadlineIn(flushTimeoutMs);
    const flushed = await flushBy(deadline);
    if (ownedStream === undefined) {
      // A stream of yours stays open; one that stopped lost what it holds, counted as for a destination.
      return !flushed.ok && stoppedStream() !== undefined ? giveUp(flushed) : flushed;
    }
    if (flushed.results[0]?.status === "timeout") {
      abandoned = true;
      destination.abandon?.();
      return flushed;
    }
    // A failed destination is given up too: pino's exit hook would retry it for ever at exit.
    if (!flushed.ok) return giveUp(flushed);
    try {
      const finished = once(ownedStream, "close").then(() => "ok" as const);
      ownedStream.end();
      // Written and synced already: closing the descriptor is all that is left.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), msUntil(deadline));
      });
      const outcome = await Promise.race([finished, late]).finally(() => clearTimeout(timer));
      return outcome === "ok" ? flushed : timedOut();
    } catch (error) {
      return flushReport(counters.name, new AuditEmitError(counters.name, "close failed", { cause: error }));
    }
  }

  return {
    name: counters.name,
    emit(event: AuditEvent) {
      if (closing !== undefined) return counters.drop("closed");
      // The level can be changed on a live logger; pino would then discard the line without a word.
      if (!logger.isLevelEnabled(level)) return counters.drop("level_disabled");
      if (outage?.failed || stoppedStream() !== undefined) {
        // Its lines would be lost without a word: refused, so that a fail-closed rule answers.
        outage?.retry();
        counters.failed++;
        return "failed";
      }
      if (waitingBytes() >= maxBufferedBytes) return overflow();
      let json: Record<string, unknown>;
      try {
        json = eventToJson(event);
      } catch (error) {
        // A value that is not an event ({}, an array) is refused, as the delivery emitters refuse it.
        return fail("event not written: it cannot be serialized", error);
      }
      const errorsBefore = streamErrors;
      try {
        destination.beforeWrite?.();
        logger[level]({ [key]: json }, eventKind(event.eventType));
      } catch (error) {
        return fail("write failed", error);
      }
      if (destination.dropFailed !== undefined && streamErrors !== errorsBefore) {
        // A synchronous write failed: already counted and reported by the error listener.
        destination.dropFailed();
        return "failed";
      }
      syncFailing = false;
      counters.emitted++;
      if (overloaded && waitingBytes() <= maxBufferedBytes / 2) overloaded = false;
      return "accepted";
    },
    flush: () => flushBy(deadlineIn(flushTimeoutMs)),
    close() {
      closing ??= close();
      return closing;
    },
    stats: () => counters.snapshot(),
  };
}
