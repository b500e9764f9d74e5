import type { ClientBase } from "pg";
import { eventKind } from "../event/kinds.js";
import type { AuditEvent } from "../gen/grpcaudit/v1/event.js";
import { decisionOf } from "../store/query.js";
import { ensurePartitions } from "./partitions.js";
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
 * One INSERT per batch, the columns given as arrays and expanded by `unnest`: one statement text for
 * every batch size (prepared once per connection) and no limit of 65,535 parameters. The events' bytes
 * go as one binary bytea ($14) cut by offsets and lengths: in an array they would travel as hex text.
 * On 100,000 events in batches of 5000 (durable server) this stored 44–45k events/s against 33–39k
 * with a bytea[] column; with batches of 2000 a bytea[] unnest beat a multi-row VALUES insert (27–34k
 * against 25–27k). COPY cannot skip a duplicate id (no ON CONFLICT) without a staging table.
 */
const INSERT_SQL = `INSERT INTO ${EVENTS_TABLE}
  (event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id, event)
  SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, substring($14::bytea FROM o + 1 FOR l)
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::boolean[], $10::text[], $11::text[], $12::text[], $13::text[], $15::integer[], $16::integer[])
    AS u (c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, o, l)`;

/**
 * The statements by whether they skip stored ids. `ON CONFLICT DO NOTHING` is a speculative insertion:
 * per row one more look-up of the key and one more WAL record, 2–3 µs of PostgreSQL's CPU per event
 * (6.3 against 8.2 µs with the key alone, 14.6 against 17.4 with every index; 100,000 events, durable
 * server). So a batch goes in plainly first, and again skipping stored ids only when that fails on
 * one (a redelivery; see `insertBatch`).
 */
const STATEMENTS = {
  plain: { name: "grpc-audit-insert", text: INSERT_SQL },
  skipping: { name: "grpc-audit-insert-skipping", text: `${INSERT_SQL}\n  ON CONFLICT DO NOTHING` },
} as const;

/**
 * Inserts the rows with `client` (inside the caller's transaction), creating the monthly partitions
 * they need first; resolves to how many were new. Unless `skipStored`, an id already stored (or twice
 * in the batch) fails the statement with `DUPLICATE`, and the caller runs the batch again with
 * `skipStored` in a new transaction; with it, ids already stored are skipped.
 * @internal
 */
export async function insertBatch(
  client: ClientBase,
  rows: readonly Row[],
  known: Set<string>,
  skipStored: boolean,
): Promise<number> {
  const times = rows.map((r) => r.event.occurredAt?.getTime() ?? 0);
  await ensurePartitions(client, times, known);
  const result = await client.query({
    ...(skipStored ? STATEMENTS.skipping : STATEMENTS.plain),
    values: columnsOf(rows, times),
  });
  return result.rowCount ?? 0;
}

/**
 * The INSERT's parameters: 13 column arrays, then the events' bytes, their offsets and lengths. Written
 * column by column, without a per-row array: this runs for every event an ingester stores.
 */
function columnsOf(rows: readonly Row[], times: readonly number[]): unknown[] {
  const n = rows.length;
  const text = () => new Array<string>(n);
  const [ids, kinds, services, operations, actors] = [text(), text(), text(), text(), text()];
  const [targetTypes, targetIds, codes, decisions, requestIds, traceIds] = [
    text(),
    text(),
    text(),
    text(),
    text(),
    text(),
  ];
  const success = new Array<boolean>(n);
  const offsets = new Array<number>(n);
  const lengths = new Array<number>(n);
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const { event: e, bytes } = rows[i] as Row;
    ids[i] = noNul(e.eventId);
    kinds[i] = eventKind(e.eventType);
    services[i] = noNul(e.service);
    operations[i] = noNul(e.operation);
    actors[i] = noNul(e.actor?.id ?? "");
    targetTypes[i] = noNul(e.target?.type ?? "");
    targetIds[i] = noNul(e.target?.id ?? "");
    success[i] = e.result?.success === true;
    codes[i] = noNul(e.result?.code ?? "");
    decisions[i] = decisionOf(e);
    requestIds[i] = noNul(e.requestId);
    traceIds[i] = noNul(e.traceId);
    offsets[i] = offset;
    lengths[i] = bytes.byteLength;
    offset += bytes.byteLength;
  }
  const all = Buffer.concat(
    rows.map((r) => r.bytes),
    offset,
  );
  // biome-ignore format: the parameters in the order of INSERT_SQL ($1 … $16)
  return [ids, kinds, times, services, operations, actors, targetTypes, targetIds, success, codes, decisions, requestIds, traceIds, all, offsets, lengths];
}

/**
 * PostgreSQL text cannot hold U+0000 and refuses the whole batch for one: in the filter columns it
 * becomes U+FFFD. The event itself (its bytes) keeps it.
 */
function noNul(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text;
}
