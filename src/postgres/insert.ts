import type { ClientBase } from "pg";
import { appendEvent, createEventColumns, type EventColumns } from "../event/event-columns.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { idTakenProblem } from "../store/event-id-conflict.js";
import { copyBatch } from "./copy.js";
import { RefusedRowsError } from "./refused-rows.js";
import { EVENTS_TABLE } from "./schema.js";

/** A row to insert: the event and its protobuf bytes. @internal */
export interface Row {
  readonly event: AuditEvent;
  readonly bytes: Uint8Array;
}

/** The error code of a row no partition takes (check_violation): its month's partition was dropped. @internal */
export const NO_PARTITION = "23514";
/** The error code of a key stored twice (unique_violation): a batch held an event already stored. @internal */
export const DUPLICATE = "23505";

/**
 * The INSERT of a batch that skips stored ids (a redelivery; see `insertBatch`), the columns given as
 * arrays and expanded by `unnest`: one statement text for every batch size (prepared once per
 * connection) and no limit of 65,535 parameters. The events' bytes go as one binary bytea ($14) cut
 * by offsets and lengths: in an array they would travel as hex text. `ON CONFLICT DO NOTHING` is a
 * speculative insertion: per row one more look-up of the key and one more WAL record, 2–3 µs of
 * PostgreSQL's CPU per event, which is why a batch goes in by COPY first.
 */
const SKIPPING = {
  name: "grpc-audit-insert-skipping",
  text: `INSERT INTO ${EVENTS_TABLE}
  (event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id, event)
  SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, substring($14::bytea FROM o + 1 FOR l)
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::boolean[], $10::text[], $11::text[], $12::text[], $13::text[], $15::integer[], $16::integer[])
    AS u (c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, o, l)
  ON CONFLICT DO NOTHING
  RETURNING event_id, occurred_at_ms`,
} as const;

/** A row's key, as RETURNING and the look-up of stored rows give it (bigint as text). */
interface RowKey {
  event_id: string;
  occurred_at_ms: string;
}

/** The stored bytes of the keys given as two arrays: one look-up for the rows an INSERT skipped. */
const STORED_EVENTS = {
  name: "grpc-audit-stored-events",
  text: `SELECT event_id, occurred_at_ms, event FROM ${EVENTS_TABLE}
  WHERE (event_id, occurred_at_ms) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`,
} as const;

/**
 * Inserts the batch with `client` (inside the caller's transaction) into the monthly partitions made
 * for it beforehand (`ensurePartitions`); resolves to how many events were new. Given `copy` (the
 * batch's `copyData`), the batch goes in by one binary COPY (`copyBatch`), which an id already stored
 * (or twice in the batch) fails with `DUPLICATE`, and the caller runs the batch again without `copy`
 * in a new transaction: then an INSERT skips the ids already stored. A skipped row whose stored bytes
 * differ is another event under its key: the batch is refused (see `otherEventsRefusal`), so the
 * caller rolls it back. `givesUpAfterMs`: the store's queryTimeoutMs, written in the COPY (see `copySql`).
 * @internal
 */
export async function insertBatch(
  client: ClientBase,
  batch: EventColumns,
  copy: Buffer | undefined,
  givesUpAfterMs: number,
): Promise<number> {
  if (copy !== undefined) return copyBatch(client, copy, givesUpAfterMs);
  const times = batchTimes(batch);
  const result = await client.query<RowKey>({ ...SKIPPING, values: parametersOf(batch, times) });
  const inserted = result.rowCount ?? 0;
  if (inserted < batch.length) {
    const refusal = await otherEventsRefusal(client, batch, times, result.rows);
    if (refusal !== undefined) throw refusal;
  }
  return inserted;
}

/**
 * The refusal of the batch's rows that were skipped although the row stored under their key (event
 * id and time) holds other bytes: a redelivery is the same bytes, another event under a repeated id
 * is not, and would be lost without a word. Its message names the ids, never the events' content, and
 * not the store: the caller adds it. Undefined when every skipped row is the one stored.
 */
async function otherEventsRefusal(
  client: ClientBase,
  batch: EventColumns,
  times: readonly number[],
  inserted: readonly RowKey[],
): Promise<RefusedRowsError | undefined> {
  const keyOf = (id: string, time: number | string) => `${time}:${id}`;
  const keys = batch.ids.slice(0, batch.length).map((id, i) => keyOf(id, times[i] as number));
  const occurrences = new Map<string, number>();
  for (const key of keys) occurrences.set(key, (occurrences.get(key) ?? 0) + 1);
  const insertedKeys = new Set(inserted.map((row) => keyOf(row.event_id, row.occurred_at_ms)));
  // A key twice in the batch went in once: which of its rows did is not said, so each is compared.
  const skipped = keys.flatMap((key, i) => (insertedKeys.has(key) && occurrences.get(key) === 1 ? [] : [i]));
  const stored = await client.query<RowKey & { event: Buffer }>({
    ...STORED_EVENTS,
    values: [skipped.map((i) => batch.ids[i]), skipped.map((i) => times[i])],
  });
  const bytes = new Map(stored.rows.map((row) => [keyOf(row.event_id, row.occurred_at_ms), row.event]));
  const other = (i: number) => {
    const held = bytes.get(keys[i] as string);
    return held === undefined || Buffer.compare(held, batch.events[i] as Uint8Array) !== 0;
  };
  const ids = [...new Set(skipped.filter(other).map((i) => batch.ids[i] as string))];
  if (ids.length === 0) return undefined;
  const more = ids.length === 1 ? "" : ` (and ${ids.length - 1} more)`;
  return new RefusedRowsError(`${idTakenProblem(ids[0] as string)}${more}`, {
    code: DUPLICATE,
    eventIds: ids,
  });
}

/** The batch's event times. @internal */
export function batchTimes(batch: EventColumns): number[] {
  return rowsOf(batch, batch.times);
}

/** A batch of events with their protobuf bytes as columns. @internal */
export function columnsOf(rows: readonly Row[]): EventColumns {
  const columns = createEventColumns();
  for (const { event, bytes } of rows) appendEvent(columns, event, bytes);
  return columns;
}

/**
 * The INSERT's parameters: 13 column arrays, then the events' bytes, their offsets and lengths. The
 * arrays go as the literals pg would make of them ("{"a","b"}"), written here: pg's own conversion
 * looks at every element's type and runs two replacements on each string, which cost an ingester
 * more than reading the events.
 */
function parametersOf(batch: EventColumns, times: readonly number[]): unknown[] {
  const n = batch.length;
  const events = rowsOf(batch, batch.events);
  const offsets = new Array<number>(n);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = offset;
    offset += (events[i] as Uint8Array).byteLength;
  }
  const all = Buffer.concat(events, offset);
  const lengths = events.map((bytes) => bytes.byteLength);
  const b = batch;
  const text = (column: readonly string[]) => textArray(column, n);
  // biome-ignore format: the parameters in the order of INSERT_SQL ($1 … $16)
  return [text(b.ids), text(b.kinds), numberArray(times), text(b.services), text(b.operations), text(b.actorIds), text(b.targetTypes), text(b.targetIds), booleanArray(b.success, n), text(b.codes), text(b.decisions), text(b.requestIds), text(b.traceIds), all, numberArray(offsets), numberArray(lengths)];
}

const QUOTED = /["\\]/;
const QUOTED_ALL = /["\\]/g;

/** A text[] literal of the first `n` values: each in double quotes, `"` and `\` escaped by a backslash. */
function textArray(values: readonly string[], n: number): string {
  let literal = "{";
  for (let i = 0; i < n; i++) {
    const value = values[i] as string;
    literal += `${i === 0 ? '"' : ',"'}${QUOTED.test(value) ? value.replace(QUOTED_ALL, "\\$&") : value}"`;
  }
  return `${literal}}`;
}

function numberArray(values: readonly number[]): string {
  return `{${values.join(",")}}`;
}

function booleanArray(values: readonly boolean[], n: number): string {
  let literal = "{";
  for (let i = 0; i < n; i++) literal += `${i === 0 ? "" : ","}${values[i] === true ? "t" : "f"}`;
  return `${literal}}`;
}

/** A column's first `batch.length` values: past them it may hold a row that was not taken. */
function rowsOf<T>(batch: EventColumns, column: T[]): T[] {
  return column.length === batch.length ? column : column.slice(0, batch.length);
}
