import { AuditEmitError, toError } from "../errors/index.js";
import { callHook, report } from "../errors/report.js";
import { monotonicNow } from "./monotonic-now.js";
import type { DeliveryEmitterOptions } from "./options.js";

/** What `onSinkRecovered` is called with: the stretch of failures that a successful write ended. */
type SinkRecovery = Parameters<NonNullable<DeliveryEmitterOptions["onSinkRecovered"]>>[0];

/** Causes of sink failures remembered at once, each limited to one report per interval; more wait. */
const MAX_CAUSES = 16;
/** A cause's key reads this much of its message at most. */
const MAX_KEY_CHARS = 300;
/** Words with a digit: counts ("after 2 of 3 messages"), ports, addresses, ids, durations. */
const NUMBERED_WORDS = /[\w.:-]*\d[\w.:-]*/g;

/**
 * What makes two sink failures the same cause: the error's name, its code and its message without
 * the words that hold numbers, which change from one attempt to the next while the cause does not.
 * For an error wrapping another (a broker's AuditEmitError), the inner one's name and code too.
 * @internal
 */
export function causeKey(thrown: unknown): string {
  const error = toError(thrown);
  const inner = (error as { cause?: unknown }).cause;
  const key = `${error.name}|${codeOf(error)}|${error.message.slice(0, MAX_KEY_CHARS).replace(NUMBERED_WORDS, "#")}`;
  return inner instanceof Error ? `${key}|${inner.name}|${codeOf(inner)}` : key;
}

function codeOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" || typeof code === "number" ? String(code) : "";
}

/**
 * Reports sink failures through onError and their end through onSinkRecovered. The first failure is
 * reported at once; then each cause at most once per interval, so a changed cause (the broker was
 * unreachable, now it refuses the credentials) is reported at once while the same one repeated, or a
 * sink flapping between two, cannot flood onError. Each report counts the failures since the report
 * before, whatever their cause, so every failure is counted once. The first successful write after a
 * reported failure calls onSinkRecovered with the failures no report counted yet; failures after that
 * which were all held back are passed on by the next failure report or, at most once per interval, by
 * a recovery.
 * @internal
 */
export class SinkReports {
  /** When each cause was last reported. */
  readonly #reportedAt = new Map<string, number>();
  /** Failures since the last report (failure or recovery). */
  #unreported = 0;
  /** Failures since the last recovery report. */
  #failedWrites = 0;
  /** A failure was reported since the last recovery report: the next success is reported. */
  #owed = false;
  #recoveredAt = Number.NEGATIVE_INFINITY;
  #lastError: Error | undefined;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly onError: ((error: Error) => void) | undefined,
    private readonly onRecovered: ((recovery: SinkRecovery) => void) | undefined,
  ) {}

  /** A write failed with `thrown`. */
  failed(thrown: unknown): void {
    const error = toError(thrown);
    this.#unreported++;
    this.#failedWrites++;
    this.#lastError = error;
    if (this.onError === undefined) return;
    const now = monotonicNow();
    const key = causeKey(error);
    const at = this.#reportedAt.get(key);
    if (at !== undefined ? now - at < this.intervalMs : !this.#room(now)) return;
    this.#reportedAt.set(key, now);
    const count = this.#unreported;
    this.#unreported = 0;
    this.#owed = true;
    const times = count === 1 ? "" : ` (${count} failures since the last report)`;
    report(
      this.onError,
      new AuditEmitError(this.name, `sink write failed${times}; retrying`, { cause: error }),
    );
  }

  /** A write succeeded: once per batch, so the first check keeps it cheap. */
  succeeded(): void {
    if (!this.#owed && this.#unreported === 0) return;
    const now = monotonicNow();
    // Failures all held back since the last recovery: reported with a later success, once per interval.
    if (!this.#owed && now - this.#recoveredAt < this.intervalMs) return;
    const recovery: SinkRecovery = {
      emitter: this.name,
      failedWrites: this.#failedWrites,
      unreported: this.#unreported,
      lastError: this.#lastError ?? new Error("unknown"),
    };
    this.#owed = false;
    this.#unreported = 0;
    this.#failedWrites = 0;
    this.#recoveredAt = now;
    callHook(this.onRecovered, recovery);
  }

  /** Room for one more cause: the causes not reported within the interval are forgotten first. */
  #room(now: number): boolean {
    if (this.#reportedAt.size < MAX_CAUSES) return true;
    for (const [key, at] of this.#reportedAt) if (now - at >= this.intervalMs) this.#reportedAt.delete(key);
    return this.#reportedAt.size < MAX_CAUSES;
  }
}
