import { finished } from "node:stream/promises";
import type { ClientBase } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { EventColumns } from "../event/event-columns.js";
import { EVENTS_TABLE } from "./schema.js";

/**
 * The COPY of a batch: the columns it fills, in the order of the fields of each COPY row (`seq` takes
 * its default); its comment says when its writer gives the insert up, `givesUpAfterMs` (its
 * queryTimeoutMs), which other writers read in pg_stat_activity to tell a frozen writer (see
 * END_FROZEN in session.ts). @internal
 */
export function copySql(givesUpAfterMs: number): string {
  return `COPY ${EVENTS_TABLE}
  (event_id, event_type, occurred_at_ms, service, operation, actor_id, target_type, target_id, success, code, decision, request_id, trace_id, event)
  FROM STDIN (FORMAT binary) /* grpc-audit: gives up after ${givesUpAfterMs} ms */`;
}
const FIELDS = 14;

/** The binary COPY header: the signature "PGCOPY\n\377\r\n\0", then flags 0 and a header extension of 0 bytes. */
const HEADER = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);

/**
 * Inserts a batch with one `COPY … FROM STDIN` (inside the caller's transaction), given as its
 * `copyData`; resolves to how many rows it stored. COPY cannot skip a stored id: one fails it with
 * `DUPLICATE`, a row whose month has no partition with `NO_PARTITION`, as the INSERT would.
 * @internal
 */
export async function copyBatch(client: ClientBase, data: Buffer, givesUpAfterMs: number): Promise<number> {
  const stream = client.query(copyFrom(copySql(givesUpAfterMs)));
  stream.end(data);
  await finished(stream);
  return stream.rowCount;
}

/**
 * The batch in PostgreSQL's binary COPY format: the header, then per row a 16-bit field count and
 * per field a 32-bit byte length and the value's bytes (text as UTF-8, bigint as 8 bytes and boolean
 * as 1 byte, big-endian; bytea as it is; no NULLs here), then -1 as a 16-bit count ends the data.
 * The values go as they are, with no quoting or escaping to get wrong. U+0000 was replaced in the
 * columns (`noNul`) already: PostgreSQL's text refuses it.
 * @internal
 */
export function copyData(batch: EventColumns): Buffer {
  const b = batch;
  const n = b.length;
  // biome-ignore format: the text columns
  const texts = [b.ids, b.kinds, b.services, b.operations, b.actorIds, b.targetTypes, b.targetIds, b.codes, b.decisions, b.requestIds, b.traceIds];
  // An upper bound: a UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair 4 for 2 units).
  let size = HEADER.length + 2 + n * (2 + FIELDS * 4 + 8 + 1);
  for (let i = 0; i < n; i++) {
    size += (b.events[i] as Uint8Array).byteLength;
    for (const column of texts) size += 3 * (column[i] as string).length;
  }
  const out = Buffer.allocUnsafe(size);
  let pos = HEADER.copy(out, 0);
  // ASCII byte by byte: most values are short, and a call of out.write costs more than copying them.
  const text = (value: string) => {
    const start = pos + 4;
    let end = start;
    for (let k = 0; k < value.length; k++) {
      const code = value.charCodeAt(k);
      if (code >= 0x80) {
        end = start + out.write(value, start);
        break;
      }
      out[end++] = code;
    }
    out.writeInt32BE(end - start, pos);
    pos = end;
  };
  for (let i = 0; i < n; i++) {
    const time = b.times[i] as number; // whole ms, |time| < 2^53: high and low 32 bits (two's complement)
    const bytes = b.events[i] as Uint8Array;
    pos = out.writeInt16BE(FIELDS, pos);
    text(b.ids[i] as string);
    text(b.kinds[i] as string);
    pos = out.writeInt32BE(8, pos);
    pos = out.writeInt32BE(Math.floor(time / 2 ** 32), pos);
    pos = out.writeUInt32BE(time >>> 0, pos);
    text(b.services[i] as string);
    text(b.operations[i] as string);
    text(b.actorIds[i] as string);
    text(b.targetTypes[i] as string);
    text(b.targetIds[i] as string);
    pos = out.writeInt32BE(1, pos);
    pos = out.writeUInt8(b.success[i] === true ? 1 : 0, pos);
    text(b.codes[i] as string);
    text(b.decisions[i] as string);
    text(b.requestIds[i] as string);
    text(b.traceIds[i] as string);
    pos = out.writeInt32BE(bytes.byteLength, pos);
    out.set(bytes, pos);
    pos += bytes.byteLength;
  }
  pos = out.writeInt16BE(-1, pos);
  return out.subarray(0, pos);
}
