import { type FileHandle, open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { isDeepStrictEqual } from "node:util";
import type BetterSqlite3 from "better-sqlite3";
import { eventKind } from "../event/kinds.js";
import { eventFromJson, eventToJson } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import type { SharedPosition } from "../postgres/store-reads.js";
import type { NextPosition } from "../store/store-reads.js";
import type { EditedRow, UndecodableRow } from "../store/stored-rows.js";
import { CliError, EXIT_FAILURE } from "./errors.js";

/**
 * An event of the trail that cannot be read (a damaged store row or log line), or a store row edited
 * around its event (a filter column changed) or a log line edited to another JSON of the same event.
 * Counts as `modified`.
 */
export interface Unreadable {
  /** Where: "row 12 (event <id>)" or "line 7". */
  where: string;
  reason: string;
}

/** What a source yields besides the events: what it could not read, and lines that hold no event. */
export interface SourceTally {
  unreadable: Unreadable[];
  /** Log lines without an event under the key (other log output). */
  skippedLines: number;
  /** What could not be checked, and why (a PostgreSQL role that may not read the store's sequence). */
  unchecked?: string[];
}

/** Rows read from the store per statement. */
const PAGE_ROWS = 1000;

/** What `storeEvents` reads of a store: the SQLite store's `tail`, or the PostgreSQL store's (async). */
export interface TailSource {
  tail(afterSeq: number, limit?: number): TailPage | Promise<TailPage>;
}
type TailPage = {
  events: AuditEvent[];
  lastSeq: number;
  undecodable?: UndecodableRow[];
  edited?: EditedRow[];
  /** A PostgreSQL store's rows that share a position (its seq is not unique). */
  shared?: SharedPosition[];
  nextPosition?: NextPosition;
};

/** Every event of the store in insertion order, a page at a time; unreadable rows go into `tally`. */
export async function* storeEvents(store: TailSource, tally: SourceTally): AsyncGenerator<AuditEvent> {
  let after = 0;
  for (;;) {
    const page = await store.tail(after, PAGE_ROWS);
    // Problems first: the first page names rows below position 1 and above 2^53 - 1 even when no row follows.
    for (const row of page.undecodable ?? []) {
      // A position above 2^53 - 1 is rounded as a number: its reason names it exactly.
      const at = row.seq > Number.MAX_SAFE_INTEGER ? "a row above position 2^53 - 1" : `row ${row.seq}`;
      tally.unreadable.push({ where: `${at} (event ${row.eventId})`, reason: row.reason });
    }
    for (const row of page.edited ?? []) {
      tally.unreadable.push({
        where: `row ${row.seq} (event ${row.eventId})`,
        reason: `its ${row.column} column does not match its event (filters and counts see the edit)`,
      });
    }
    for (const { seq, eventIds } of page.shared ?? []) {
      tally.unreadable.push({
        where: `row ${seq} (events ${idsNamed(eventIds)})`,
        reason: `${eventIds.length} rows at one position, which the store gives one row only: put in or moved there from outside`,
      });
    }
    const next = page.nextPosition;
    if (next !== undefined && "problem" in next)
      tally.unreadable.push({ where: next.where, reason: next.problem });
    if (next !== undefined && "unchecked" in next)
      tally.unchecked = [...(tally.unchecked ?? []), next.unchecked];
    const rows = page.events.length + (page.undecodable?.length ?? 0);
    if (page.lastSeq === after && page.events.length === 0) return;
    // A page whose end is not past its start would be read again for ever, or its rows dropped.
    if (!(Number.isSafeInteger(page.lastSeq) && page.lastSeq > after)) {
      throw new CliError(
        `cannot read the store: a page of ${rows} row${rows === 1 ? "" : "s"} after position ${after} ends at position ${page.lastSeq}, not a position past it that the next page can start after (2^53 - 1 at most)`,
        EXIT_FAILURE,
      );
    }
    yield* page.events;
    after = page.lastSeq;
  }
}

/** Event ids a shared position's line names at most; the rest are counted. */
const SHARED_IDS_NAMED = 5;

/**
 * The ids of a shared position's rows, for its line: the first few and a count of the others, so
 * that a position put in thousands of times is one readable line, not one of thousands of ids.
 */
function idsNamed(eventIds: readonly string[]): string {
  if (eventIds.length <= SHARED_IDS_NAMED) return eventIds.join(", ");
  const rest = eventIds.length - SHARED_IDS_NAMED;
  return `${eventIds.slice(0, SHARED_IDS_NAMED).join(", ")} and ${rest.toLocaleString("en-US")} more`;
}

/** Problems `PRAGMA integrity_check` names at most, as SQLite lists them. */
const INTEGRITY_PROBLEMS = 20;

/**
 * What SQLite's `PRAGMA integrity_check` finds wrong in the store file, into `tally`: an index that
 * lacks a row hides it from `query` and `stats` while `verify` (which reads the table) finds nothing
 * else. `quick_check` is faster but does not compare the indexes with the table.
 */
export async function checkSqliteIntegrity(path: string, tally: SourceTally): Promise<void> {
  let db: BetterSqlite3.Database | undefined;
  try {
    // Loaded here: better-sqlite3 is an optional peer, there once the store was read.
    const { default: Database } = await import("better-sqlite3");
    db = new Database(path, { readonly: true, fileMustExist: true });
    const problems = db.pragma(`integrity_check(${INTEGRITY_PROBLEMS})`, { simple: false }) as {
      integrity_check: string;
    }[];
    for (const { integrity_check: problem } of problems) {
      if (problem !== "ok")
        tally.unreadable.push({ where: "the store file", reason: `integrity_check: ${problem}` });
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    tally.unreadable.push({
      where: "the store file",
      reason: `integrity_check failed (${typeof code === "string" ? code : "error"})`,
    });
  } finally {
    db?.close();
  }
}

/**
 * The events of an NDJSON log, as the log emitter writes them (the event in proto3 JSON under `key` of
 * each pino line), in line order. Lines that are not JSON objects with an object under `key` are other
 * log output: counted, skipped. An object under `key` that is not an event, or a line the log emitter
 * would not write for it (text around the object, a key twice, another JSON of the event, a `msg`
 * other than its kind), goes into `tally`.
 */
export async function* logEvents(path: string, key: string, tally: SourceTally): AsyncGenerator<AuditEvent> {
  let input: ReturnType<FileHandle["createReadStream"]>;
  try {
    const file = await open(path);
    // A folder opens, then fails at the first read with a bare EISDIR. A pipe (`--log <(zcat …)`) or a
    // device is read as it comes.
    const stats = await file.stat();
    if (stats.isDirectory()) {
      await file.close();
      throw new CliError(`cannot read ${path}: a folder, not a log file`, EXIT_FAILURE);
    }
    // Read at offset 0 without moving the file position; a pipe's first line is checked below.
    if (stats.isFile() && (await startsWithSqliteHeader(file))) {
      await file.close();
      throw sqliteGivenAsLog(path);
    }
    input = file.createReadStream();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      EXIT_FAILURE,
    );
  }
  let line = 0;
  for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    // A pipe (`--log <(cat audit.db)`): its binary pages would read as lines without an event.
    if (line === 1 && text.startsWith(SQLITE_HEADER)) {
      input.destroy();
      throw sqliteGivenAsLog(path);
    }
    const object = parseObject(text);
    // The line's own key only: "__proto__" or "toString" would read Object.prototype's.
    const value = object !== undefined && Object.hasOwn(object, key) ? object[key] : undefined;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      tally.skippedLines++;
      continue;
    }
    // What a JSON reader takes for an event line but the log emitter never writes: text around the
    // object, or a key twice (readers differ on which one they keep; verify would check only the last).
    const problem = lineProblem(text, key);
    if (problem !== undefined) {
      tally.unreadable.push({ where: `line ${line}`, reason: problem });
      continue;
    }
    let event: AuditEvent;
    try {
      event = eventFromJson(value);
    } catch (error) {
      tally.unreadable.push({
        where: `line ${line}`,
        reason: `not an AuditEvent (${error instanceof Error ? error.message : String(error)})`,
      });
      continue;
    }
    // The JSON reader is lenient (unknown keys ignored, "false" read as true): a line edited that way
    // decodes to the event it was and would match its hash. The log emitter writes exactly
    // eventToJson(event), so any other JSON for the event is an edit (key order aside).
    if (!writtenAsIs(event, value)) {
      tally.unreadable.push({
        where: `line ${line}`,
        reason: "not the JSON the log emitter writes for the event it holds (a key or value edited)",
      });
      continue;
    }
    // The log emitter's message is the event's kind (under pino's `msg`, unless the logger was given
    // another messageKey, whose lines have no `msg`).
    const message = object?.msg;
    if (message !== undefined && message !== eventKind(event.eventType)) {
      tally.unreadable.push({
        where: `line ${line}`,
        reason: `its msg is not the kind of the event it holds (${eventKind(event.eventType)})`,
      });
      continue;
    }
    yield event;
  }
}

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = "SQLite format 3\0";

/** Whether the file starts as a SQLite database does (an audit store given to `--log`). */
async function startsWithSqliteHeader(file: FileHandle): Promise<boolean> {
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const { bytesRead } = await file.read(header, 0, header.length, 0);
  return bytesRead === header.length && header.toString("latin1") === SQLITE_HEADER;
}

/**
 * A SQLite database given as a log: read as one, its pages hold no event line, and verify would
 * report "nothing verified" with exit code 0.
 */
function sqliteGivenAsLog(path: string): CliError {
  return new CliError(
    `cannot read ${path} as a log: it is a SQLite database; use --db to verify an audit store`,
    EXIT_FAILURE,
  );
}

/**
 * The line of each of `eventIds` in the log at `path` (its first line holding it), read again after
 * verification so that verify keeps no line per event; none for a pipe, which cannot be read twice.
 */
export async function linesOf(path: string, eventIds: ReadonlySet<string>): Promise<Map<string, number>> {
  const lines = new Map<string, number>();
  if (eventIds.size === 0) return lines;
  const file = await open(path).catch(() => undefined);
  if (file === undefined) return lines;
  try {
    if (!(await file.stat()).isFile()) return lines;
    let line = 0;
    for await (const text of createInterface({
      input: file.createReadStream(),
      crlfDelay: Number.POSITIVE_INFINITY,
    })) {
      line++;
      const id = EVENT_ID.exec(text)?.[1];
      if (id !== undefined && eventIds.has(id) && !lines.has(id)) lines.set(id, line);
    }
    return lines;
  } finally {
    await file.close();
  }
}

/** The first event id of a log line, as the log emitter writes it (event ids need no escapes). */
const EVENT_ID = /"eventId":"([^"\\]*)"/;

/** Whether `json` is what the log emitter writes for `event` (which may not even have a JSON form). */
function writtenAsIs(event: AuditEvent, json: unknown): boolean {
  try {
    return isDeepStrictEqual(eventToJson(event), json);
  } catch {
    return false; // an invalid time, say: no emitter wrote it
  }
}

/** Why a line that holds an event object (under `eventKey`) is not one the log emitter writes, or undefined. */
function lineProblem(text: string, eventKey: string): string | undefined {
  if (!(text.startsWith("{") && text.endsWith("}"))) {
    return "text around the JSON object (whitespace or a byte order mark), which the log emitter never writes";
  }
  const key = duplicateKey(text, eventKey);
  return key === undefined ? undefined : `the key ${JSON.stringify(key)} appears twice in one object`;
}

/**
 * The first key that appears twice in one object of `text`, valid JSON: JSON.parse keeps the last,
 * other readers the first, so a line with a key twice shows each reader something else. On the line
 * itself only `eventKey` counts: pino writes a key of the logger's bindings and of a mixin twice when
 * both have it, which says nothing about the event.
 */
function duplicateKey(text: string, eventKey: string): string | undefined {
  /** Per open object or array: the keys seen (undefined for an array). */
  const open: (Set<string> | undefined)[] = [];
  /** True where the next string in the innermost object is a key. */
  let atKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      let escaped = false;
      while (text[end] !== '"') {
        if (text[end] === "\\") {
          escaped = true;
          end++;
        }
        end++;
      }
      const keys = open[open.length - 1];
      if (atKey && keys !== undefined) {
        // "\u0061" is "a": escapes are read as JSON reads them.
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (keys.has(key)) return key;
        if (open.length > 1 || key === eventKey) keys.add(key);
      }
      atKey = false;
      i = end;
    } else if (c === "{" || c === "[") {
      open.push(c === "{" ? new Set() : undefined);
      atKey = c === "{";
    } else if (c === "}" || c === "]") open.pop();
    else if (c === ",") atKey = open[open.length - 1] !== undefined;
  }
  return undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    // A leading byte order mark: JSON.parse refuses it, other readers skip it.
    const value: unknown = JSON.parse(text.startsWith("\uFEFF") ? text.slice(1) : text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
