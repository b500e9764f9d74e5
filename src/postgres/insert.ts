import type { ClientBase } from "pg";
import { appendEvent, createEventColumns, type EventColumns } from "../event/event-columns.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { copyBatch } from "./copy.js";
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
  ON CONFLICT DO NOTHING`,
} as const;

/**
 * Inserts the batch with `client` (inside the caller's transaction) into the monthly partitions made
 * for it beforehand (`ensurePartitions`); resolves to how many events were new. Given `copy` (the
 * batch's `copyData`), the batch goes in by one binary COPY (`copyBatch`), which an id already stored
 * (or twice in the batch) fails with `DUPLICATE`, and the caller runs the batch again without `copy`
 * in a new transaction: then an INSERT skips the ids already stored. `givesUpAfterMs`: the store's
 * queryTimeoutMs, written in the COPY (see `copySql`).
 * @internal
 */
export async function insertBatch(
  client: ClientBase,
  batch: EventColumns,
  copy: Buffer | undefined,
  givesUpAfterMs: number,
): Promise<number> {
  if (copy !== undefined) return copyBatch(client, copy, givesUpAfterMs);
  const result = await client.query({ ...SKIPPING, values: parametersOf(batch, batchTimes(batch)) });
  return result.rowCount ?? 0;
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
