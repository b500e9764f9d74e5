import {
  appendFileSync,
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
} from "node:fs";
import { dirname } from "node:path";
import onExit from "on-exit-leak-free";
import pino, { type DestinationStream, type Level, type Logger } from "pino";
import { AuditConfigError } from "../errors/index.js";
import { LineBatcher, type SonicBoomLike } from "./line-batcher.js";
import { type DrainOutcome, drainSonicBoom, msUntil, unwrittenLines } from "./sonic-drain.js";
import { watchStopped } from "./stopped-stream.js";

/**
 * The pino logger a log emitter writes to, and what it needs to flush, close and bound it.
 * @internal
 */
export interface LogDestination {
  logger: Logger;
  /** The stream pino writes to (flushed on `flush()`). */
  stream: unknown;
  /** The destination the emitter opened itself and closes on `close()`. */
  ownedStream?: SonicBoomLike;
  batcher?: LineBatcher;
  /**
   * Bytes handed to the destination and not yet written. 0 for a stream whose buffer cannot be read
   * (a pino transport or multistream): those are not bounded by the emitter.
   */
  waitingBytes: () => number;
  /**
   * Lines accepted and not yet written: exact for a destination the emitter owns (but see
   * `unwrittenLines` on a write in progress); for a `logger` on a SonicBoom, every line waiting there,
   * the logger's other lines too; undefined for a stream whose backlog cannot be read.
   */
  pendingLines: () => number | undefined;
  /**
   * For a destination the emitter owns, after close() timed out or failed: stops what would keep the
   * process from exiting (retries of a non-blocking pipe, the synchronous write-out at exit, which
   * SonicBoom retries for ever after any error). After a timeout it closes the destination once it has
   * written what it holds, if it ever does; after a failure (`failed`) it closes it now and drops what
   * it holds: a retry would fail again.
   */
  abandon?: (failed?: boolean) => void;
  /**
   * For a destination the emitter owns in sync mode, after a write failed: drops what the destination
   * holds (the line that failed), so that it is neither retried by the next write nor counted again.
   */
  dropFailed?: () => void;
  /**
   * For a file path the emitter owns in sync mode, before each write: after a failed write (a full
   * disk can take part of a line), ends that torn line first, so the next line is not glued to it.
   */
  beforeWrite?: () => void;
  /**
   * For a `logger` or `destination` stream of yours: why it stopped taking lines for good, once it has
   * (see `watchStopped`); undefined while it takes them.
   */
  stopped?: () => Error | undefined;
}

/** Where a log emitter writes: the parts of its options `resolveLogger` reads (documented there). */
export interface LogTarget {
  logger?: Logger | undefined;
  destination?: string | number | DestinationStream | undefined;
  sync?: boolean | undefined;
}

/** Mode of a log file the emitter creates: only its owner may read it (audit lines name people). */
const LOG_FILE_MODE = 0o600;

/**
 * Builds the logger of a log emitter from its options. Throws an AuditConfigError for a missing,
 * doubled or unusable logger or destination.
 * @internal
 */
export function resolveLogger(
  options: LogTarget,
  level: Level,
  onBatchError: (error: unknown) => void,
): LogDestination {
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
    const stream = pinoField(logger, pino.symbols.streamSym);
    if (typeof (stream as { write?: unknown } | null)?.write !== "function") {
      // Without it flush() and close() could not wait for the lines, nor the backlog be bounded.
      throw new AuditConfigError(
        "log emitter: `logger` has no pino destination stream (no `pino.stream` field): give a pino logger or a `destination`",
      );
    }
    return {
      logger,
      stream,
      waitingBytes: waitingBytesOf(stream),
      pendingLines: pendingLinesOf(stream),
      stopped: watchStopped(stream),
    };
  }
  if (typeof destination === "number" && !(Number.isSafeInteger(destination) && destination >= 0)) {
    // pino would open it in the background and fail every write.
    throw new AuditConfigError(
      `log emitter: destination must be a path, a file descriptor (a whole number ≥ 0) or a stream, got ${destination}`,
    );
  }
  if (typeof destination === "string" || typeof destination === "number") {
    if (destination === "") throw new AuditConfigError("log emitter: `destination` must not be empty");
    return ownDestination(destination, options.sync ?? false, level, onBatchError);
  }
  if (typeof destination === "object" && destination !== null && typeof destination.write === "function") {
    return {
      logger: pino({ level }, destination),
      stream: destination,
      waitingBytes: waitingBytesOf(destination),
      pendingLines: pendingLinesOf(destination),
      stopped: watchStopped(destination),
    };
  }
  throw new AuditConfigError("log emitter: needs a pino `logger` or a `destination` (path, fd or stream)");
}

/**
 * Reads one of pino's own fields of a logger (its stream, its message key) by the symbol's description:
 * pino makes these symbols with Symbol(), not Symbol.for(), so a logger made by another copy of pino
 * (the app's own, of another version) holds the same fields under symbols other than ours. A child
 * logger holds them on the loggers it was made from: the nearest one wins, as in a property lookup.
 * @internal
 */
export function pinoField(logger: object, symbol: symbol): unknown {
  if (symbol in logger) return (logger as Record<symbol, unknown>)[symbol];
  for (let holder: object | null = logger; holder !== null; holder = Object.getPrototypeOf(holder)) {
    const own = Object.getOwnPropertySymbols(holder).find((key) => key.description === symbol.description);
    if (own !== undefined) return (logger as Record<symbol, unknown>)[own];
  }
  return undefined;
}

/** A file or descriptor the emitter opens, writes and closes itself. */
function ownDestination(
  destination: string | number,
  sync: boolean,
  level: Level,
  onBatchError: (error: unknown) => void,
): LogDestination {
  if (typeof destination === "string") endTornLine(destination);
  let abandoned = false;
  const ownedStream = pino.destination({
    dest: typeof destination === "string" ? (openRegularFile(destination) ?? destination) : destination,
    sync,
    mkdir: true,
    mode: LOG_FILE_MODE,
    // A non-blocking pipe that is full answers EAGAIN: SonicBoom retries every 100 ms, for ever
    // unless the emitter has given up on it.
    retryEAGAIN: () => !abandoned,
  }) as unknown as SonicBoomLike;
  // A path SonicBoom could not open (a socket file): pino's exit hook would throw "sonic boom is not
  // ready yet" at exit. The destination is given up; the emitter counts and reports the error.
  ownedStream.on("error", () => {
    if (ownedStream.fd < 0) onExit.unregister(ownedStream);
  });
  const abandon = (failed = false) => {
    abandoned = true;
    // pino's own exit hook would write the rest out synchronously, and block for ever. pino registers
    // it with the same on-exit-leak-free (pino 10 asks for ^2.1.0, a single copy once installed).
    onExit.unregister(ownedStream);
    if (failed) ownedStream.destroy();
    else ownedStream.end();
  };
  const pendingLines = () => unwrittenLines(ownedStream);
  if (sync) {
    const logger = pino({ level }, ownedStream);
    // Set by a failed write of a path; cleared once the file ends with a newline again.
    let mayBeTorn = false;
    return {
      logger,
      stream: ownedStream,
      ownedStream,
      waitingBytes: () => ownedStream._len,
      pendingLines,
      abandon,
      dropFailed: () => {
        dropHeld(ownedStream);
        mayBeTorn = typeof destination === "string";
      },
      beforeWrite: () => {
        if (mayBeTorn && typeof destination === "string") mayBeTorn = !endTornLine(destination);
      },
    };
  }
  // Asynchronous mode gathers ~8 KiB before a write (at least every 250 ms, and on flush()/close()):
  // one write per line costs thread-pool CPU per event on a busy server.
  const batcher = new LineBatcher(ownedStream, onBatchError);
  return {
    logger: pino({ level }, batcher),
    stream: ownedStream,
    ownedStream,
    batcher,
    // Lines gather in the batcher (counted in characters) while SonicBoom writes; SonicBoom counts
    // what it holds in bytes. A destination that does not keep up piles up in both.
    waitingBytes: () => batcher.waitingChars + ownedStream._len,
    pendingLines: () => batcher.waitingLines + pendingLines(),
    abandon,
  };
}

/**
 * Opens a log file for appending, now: SonicBoom opens a path in the background, and lines written
 * before it is open are lost when the process exits first (its synchronous write-out needs the
 * descriptor). Undefined for anything but a regular file (or a new one), and when the open fails:
 * SonicBoom then opens the path itself as before and reports why it cannot. O_NONBLOCK so that a
 * FIFO nobody reads does not block here; a regular file ignores it. A path that can never be a log
 * file (a directory, no permission) throws an AuditConfigError.
 */
function openRegularFile(path: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = openLogFile(path);
    if (fstatSync(fd).isFile()) return fd;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const meaning = typeof code === "string" ? UNUSABLE_PATH[code] : undefined;
    if (meaning !== undefined) {
      throw new AuditConfigError(
        `log emitter: cannot open destination ${JSON.stringify(path)}: ${meaning} (${code})`,
        {
          cause: error,
        },
      );
    }
    // Anything else (a FIFO nobody reads yet: ENXIO): SonicBoom opens the path and reports the error.
  }
  if (fd !== undefined) closeSync(fd);
  return undefined;
}

/** Errors of opening a log path that waiting cannot mend, and what they mean there. */
const UNUSABLE_PATH: Readonly<Record<string, string>> = {
  EISDIR: "it is a directory",
  ENOTDIR: "a parent is not a directory",
  EEXIST: "a parent is not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
  ENAMETOOLONG: "name too long",
  ELOOP: "too many symbolic links",
};

/** Creates the missing parent directories (mode 0777 less the umask, as mkdir -p) and opens the file. */
function openLogFile(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NONBLOCK,
    LOG_FILE_MODE,
  );
}

/**
 * Empties a synchronous SonicBoom after a failed write: it keeps the failed text and writes it again
 * before each later line, so a destination that fails (a full disk) would fail every event after it
 * and pile the failed ones up. Nothing else is held in sync mode: each write is done or failed at once.
 */
function dropHeld(sonic: SonicBoomLike): void {
  const held = sonic as unknown as { _writingBuf: string; _bufs: string[]; _len: number };
  held._writingBuf = "";
  held._bufs = [];
  held._len = 0;
}

/**
 * Ends the last line of an existing log file with a newline when it has none: a process that died in
 * the middle of a write (or a write a full disk cut short) left part of a line, and the first line
 * appended after it would be glued to it and lost to readers (`grpc-audit verify` would report that
 * event missing). Nothing for a new file, one that ends with a newline, or a path that is not a regular
 * file (pino reports what it cannot open). False when the newline could not be written (a full disk).
 */
function endTornLine(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return true;
    const fd = openSync(path, "r");
    let torn = false;
    try {
      const { size } = fstatSync(fd);
      const last = Buffer.alloc(1);
      torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
    } finally {
      closeSync(fd);
    }
    // Appended: a writer of another process adds whole lines after it, never in its place.
    if (torn) appendFileSync(path, "\n");
    return true;
  } catch (error) {
    // No file yet, or one that cannot be read or written: pino opens it, or reports why it cannot.
    return (error as { code?: unknown } | null)?.code === "ENOENT";
  }
}

/**
 * Counts the lines waiting in a SonicBoom, or in the SonicBooms of a multistream (a line going to
 * two of them counts twice); other streams' backlogs cannot be counted in lines.
 */
function pendingLinesOf(stream: unknown): () => number | undefined {
  const sonics = sonicBoomsOf(stream);
  if (sonics.length === 0) return () => undefined;
  return () => sonics.reduce((sum, sonic) => sum + unwrittenLines(sonic), 0);
}

/** Reads the backlog of a SonicBoom (pino.destination) or a Node Writable; other streams report 0. */
function waitingBytesOf(stream: unknown): () => number {
  if (isSonicBoom(stream)) return () => stream._len;
  const writable = stream as { writableLength?: unknown } | null;
  if (typeof writable?.writableLength === "number") return () => writable.writableLength as number;
  return () => 0;
}

function isSonicBoom(stream: unknown): stream is SonicBoomLike {
  if (typeof stream !== "object" || stream === null) return false;
  const sonic = stream as SonicBoomLike;
  return (
    typeof sonic.flushSync === "function" && typeof sonic._len === "number" && Array.isArray(sonic._bufs)
  );
}

/** The stream itself if it is a SonicBoom, else the SonicBooms a pino multistream writes to. */
function sonicBoomsOf(stream: unknown): SonicBoomLike[] {
  if (isSonicBoom(stream)) return [stream];
  const streams = (stream as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(streams)) return [];
  return streams.map((entry: { stream?: unknown }) => entry?.stream).filter(isSonicBoom);
}

/**
 * Writes out what pino's stream holds, giving up at `deadline` (from `deadlineIn`) with "timeout".
 * A SonicBoom, or each of a multistream's, is waited for while its own asynchronous writes go on: its
 * `flush(cb)` can call back before the data is written, and its `flushSync` blocks the event loop
 * for ever on a pipe nobody reads. Any other stream is flushed through `logger.flush`. Rejects with
 * the stream's error.
 * @internal
 */
export async function flushStream(logger: Logger, stream: unknown, deadline: number): Promise<DrainOutcome> {
  const sonics = sonicBoomsOf(stream);
  if (sonics.length > 0) {
    const outcomes = await Promise.all(sonics.map((sonic) => drainSonicBoom(sonic, deadline)));
    return outcomes.includes("timeout") ? "timeout" : "ok";
  }
  // Another kind of stream (a transport, the user's Writable): ask pino to flush it.
  let timer: NodeJS.Timeout | undefined;
  const flushed = new Promise<DrainOutcome>((resolve, reject) =>
    logger.flush((error) => (error ? reject(error) : resolve("ok"))),
  );
  const timedOut = new Promise<DrainOutcome>((resolve) => {
    timer = setTimeout(() => resolve("timeout"), msUntil(deadline));
  });
  try {
    return await Promise.race([flushed, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
