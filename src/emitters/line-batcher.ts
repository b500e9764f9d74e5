import { type ExitEvent, offExit, onExit } from "./exit-hooks.js";

/** The parts of pino's SonicBoom destination the log emitter uses. */
export interface SonicBoomLike extends NodeJS.EventEmitter {
  fd: number;
  /** Bytes handed over and not yet written: SonicBoom's own count. */
  readonly _len: number;
  /** True while an asynchronous write (or the open) is in progress. */
  readonly _writing: boolean;
  /** The text of the write in progress (or of a failed one, retried next): a string or a Buffer. */
  readonly _writingBuf: unknown;
  /** The texts waiting for a write: strings, or arrays of Buffers in "buffer" mode. */
  readonly _bufs: readonly unknown[];
  /** Bytes SonicBoom gathers before it writes. */
  readonly minLength: number;
  write(data: string): boolean;
  /** Starts a write of what is held below `minLength` (with `minLength` 0: nothing). */
  flush(): void;
  flushSync(): void;
  end(): void;
  /** Closes the descriptor now, dropping what is not written. */
  destroy(): void;
}

/** The parts of SonicBoom a LineBatcher uses. */
export type BatchTarget = Pick<SonicBoomLike, "_writing" | "write" | "flushSync">;

/** Characters gathered before they go to the file: one write per ~8 KiB at least. */
export const BATCH_CHARS = 8192;
/**
 * Characters gathered while SonicBoom is writing before they go over anyway, as a string of their own:
 * a V8 string holds at most 2^29 - 24 characters, and without a `maxBufferedBytes` limit a backlog can
 * grow past that.
 */
export const MAX_BATCH_CHARS = 1 << 26;
/** Longest a line waits for a full batch. */
export const BATCH_MAX_WAIT_MS = 250;

/**
 * The pino destination of a log emitter that owns its file: gathers lines in an array and hands them
 * to SonicBoom joined, one string per ~8 KiB, which SonicBoom writes out asynchronously. While SonicBoom
 * is still writing, lines keep gathering here and go over as one string when it is done: SonicBoom
 * writes each string it holds with a write of its own (up to 16 KiB when it joins them), so a
 * destination that is slow for a moment, or a burst of events, would otherwise cost one write per
 * 8 KiB, one per turn of the event loop, and fall further behind.
 *
 * SonicBoom can gather by itself (`minLength`), but it appends each line to one growing string and
 * measures that string's UTF-8 length on every write, which flattens it (docs/performance.md). Joining
 * once per batch allocates each byte once.
 *
 * Lines still gathered when the process exits are written out synchronously, as pino does for its own
 * asynchronous destinations: on a destination that never drains (a full pipe) that blocks the exit
 * for ever, as pino's does. `stop()` removes the hook (the emitter's `close()` does).
 */
export class LineBatcher {
  private lines: string[] = [];
  private chars = 0;
  private readonly timer: NodeJS.Timeout;

  /** `onError` gets what writing a batch threw (SonicBoom throws once it is destroyed). */
  constructor(
    private readonly sonic: BatchTarget,
    private readonly onError: (error: unknown) => void,
  ) {
    this.timer = setInterval(() => this.releaseIfIdle(), BATCH_MAX_WAIT_MS).unref();
    onExit(this, writeOutAtExit, { beforeExit: true });
  }

  /** Characters gathered and not yet handed to SonicBoom. */
  get waitingChars(): number {
    return this.chars;
  }

  /** Lines gathered and not yet handed to SonicBoom. */
  get waitingLines(): number {
    return this.lines.length;
  }

  /** Called by pino with one line (newline included). */
  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= BATCH_CHARS) this.releaseIfIdle();
  }

  /** Hands the gathered lines to SonicBoom unless it is still writing the previous ones (and they fit). */
  private releaseIfIdle(): void {
    if (!this.sonic._writing || this.chars >= MAX_BATCH_CHARS) this.release();
  }

  /** Hands the gathered lines to SonicBoom now. */
  release(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join("");
    this.lines = [];
    this.chars = 0;
    try {
      this.sonic.write(text);
    } catch (error) {
      this.onError(error);
    }
  }

  /** Hands over what is gathered and stops the timer and the exit hooks; call when no line follows. */
  stop(): void {
    clearInterval(this.timer);
    offExit(this);
    this.release();
  }

  /** At "exit" the event loop is gone, so SonicBoom must write out synchronously. */
  writeOut(event: ExitEvent): void {
    this.release();
    if (event === "beforeExit") return; // the loop still runs and SonicBoom finishes its write
    try {
      this.sonic.flushSync();
    } catch {
      // Not open yet, or destroyed: nothing can be written any more.
    }
  }
}

function writeOutAtExit(batcher: LineBatcher, event: ExitEvent): void {
  batcher.writeOut(event);
}
