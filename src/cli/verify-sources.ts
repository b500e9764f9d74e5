import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { isDeepStrictEqual } from "node:util";
import { InvalidArgumentError, Option } from "commander";
import { eventFromJson, eventToJson } from "../event/serialize.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
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
};

/** Every event of the store in insertion order, a page at a time; unreadable rows go into `tally`. */
export async function* storeEvents(store: TailSource, tally: SourceTally): AsyncGenerator<AuditEvent> {
  let after = 0;
  for (;;) {
    const page = await store.tail(after, PAGE_ROWS);
    // Problems first: the first page names rows below position 1 even when no row follows.
    for (const row of page.undecodable ?? []) {
      tally.unreadable.push({ where: `row ${row.seq} (event ${row.eventId})`, reason: row.reason });
    }
    for (const row of page.edited ?? []) {
      tally.unreadable.push({
        where: `row ${row.seq} (event ${row.eventId})`,
        reason: `its ${row.column} column does not match its event (filters and counts see the edit)`,
      });
    }
    if (page.lastSeq === after) return;
    yield* page.events;
    after = page.lastSeq;
  }
}

/**
 * The events of an NDJSON log, as the log emitter writes them (the event in proto3 JSON under `key` of
 * each pino line), in line order. Lines that are not JSON objects with an object under `key` are other
 * log output: counted, skipped. An object under `key` that is not an event goes into `tally`.
 */
export async function* logEvents(path: string, key: string, tally: SourceTally): AsyncGenerator<AuditEvent> {
  let input: ReturnType<FileHandle["createReadStream"]>;
  try {
    const file = await open(path);
    // A folder opens, then fails at the first read with a bare EISDIR. A pipe (`--log <(zcat …)`) or a
    // device is read as it comes.
    if ((await file.stat()).isDirectory()) {
      await file.close();
      throw new CliError(`cannot read ${path}: a folder, not a log file`, EXIT_FAILURE);
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
    const object = parseObject(text);
    // The line's own key only: "__proto__" or "toString" would read Object.prototype's.
    const value = object !== undefined && Object.hasOwn(object, key) ? object[key] : undefined;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      tally.skippedLines++;
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
    yield event;
  }
}

/** Whether `json` is what the log emitter writes for `event` (which may not even have a JSON form). */
function writtenAsIs(event: AuditEvent, json: unknown): boolean {
  try {
    return isDeepStrictEqual(eventToJson(event), json);
  } catch {
    return false; // an invalid time, say: no emitter wrote it
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses one `--public-key <keyId>=<pem file>` and adds it to `keys`: the file holds an Ed25519 public
 * key in PEM (SPKI), or its private key, from which the public key is taken.
 */
export function publicKeyArgument(
  text: string,
  keys: ReadonlyMap<string, KeyObject> = new Map(),
): ReadonlyMap<string, KeyObject> {
  const equals = text.indexOf("=");
  if (equals < 1 || equals === text.length - 1) throw new InvalidArgumentError("Use <keyId>=<pem file>.");
  const { keyId, file, pem } = readKeyFile(text, equals);
  if (keys.has(keyId)) throw new InvalidArgumentError(`Key id ${keyId} is given twice.`);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new InvalidArgumentError(`${file} holds no key in PEM form.`);
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new InvalidArgumentError(`${file} holds a ${key.asymmetricKeyType ?? "unknown"} key, not Ed25519.`);
  }
  return new Map([...keys, [keyId, key]]);
}

/**
 * The key id and the PEM text of `<keyId>=<pem file>`, split at the first "=" whose file can be read:
 * a key id may hold "=" itself (a Recorder takes any id without spaces), and "team=a=key.pem" is then
 * key id "team=a" when there is no file "a=key.pem".
 */
function readKeyFile(text: string, firstEquals: number): { keyId: string; file: string; pem: string } {
  let firstError: { file: string; code: string } | undefined;
  for (let equals = firstEquals; equals > 0; equals = text.indexOf("=", equals + 1)) {
    const file = text.slice(equals + 1);
    if (file === "") break;
    try {
      return { keyId: text.slice(0, equals), file, pem: readFileSync(file, "utf8") };
    } catch (error) {
      firstError ??= { file, code: (error as NodeJS.ErrnoException).code ?? "error" };
    }
  }
  throw new InvalidArgumentError(`Cannot read ${firstError?.file ?? text}: ${firstError?.code ?? "error"}.`);
}

/** `--public-key <keyId=pem>` (repeatable), shared by `verify` and `ui`. */
export function publicKeyOption(): Option {
  return new Option(
    "--public-key <keyId=pem>",
    "Ed25519 public key (PEM file) that checkpoints of keyId are signed with; repeat per key",
  ).argParser(publicKeyArgument);
}

/** `--sealed`, shared by `verify` and `ui`. */
export function sealedOption(): Option {
  return new Option(
    "--sealed",
    "expect every event in a chain that ends with a final checkpoint (its recorder has closed): no chained event at all is a finding",
  );
}
