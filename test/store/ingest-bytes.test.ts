// An ingester writing into the SQLite store keeps each event's bytes as the broker carried them: an
// event of a newer schema (a field this version does not know) is stored whole, so its evidence (the
// chain hash over those bytes) still matches, and its columns are filled as for any event.
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { BROKER_CONTENT_TYPE, BROKER_HEADER } from "../../src/brokers/event-headers.js";
import { decodeEvent, encodeEvent } from "../../src/event/serialize.js";
import { createIngester, type IngestSource, type SourceMessage } from "../../src/ingest/index.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { numberedEvent, tempDir } from "../delivery/helpers.js";
import { until } from "../helpers/fake-sink.js";

/** A source that hands out `messages` once, acknowledging into `acked`. */
function arraySource(messages: SourceMessage[], acked: SourceMessage[]): IngestSource {
  return {
    name: "array",
    fetch: async (max, maxWaitMs, signal) => {
      if (messages.length === 0) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, Math.min(maxWaitMs, 20));
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
        return [];
      }
      return messages.splice(0, max);
    },
    ack: async (done) => {
      acked.push(...done);
    },
    retry: async (back) => {
      messages.push(...back);
    },
    deadLetter: async () => {},
    lag: () => messages.length,
  };
}

const protobufMessage = (data: Uint8Array, where: string): SourceMessage => ({
  data,
  where,
  header: (name) => (name === BROKER_HEADER.CONTENT_TYPE ? BROKER_CONTENT_TYPE.protobuf : undefined),
});

describe("ingesting into the SQLite store", () => {
  it("stores an event of a newer schema with its exact bytes, unknown field included", async () => {
    const dir = tempDir("ingest-bytes");
    try {
      const path = `${dir.dir}/audit.db`;
      const known = numberedEvent(1, "authz");
      const newer = numberedEvent(2, "authz");
      // Field 999 (length-delimited, "from v2"), which grpcaudit.v1.AuditEvent does not have.
      const extra = new Uint8Array([0xba, 0x3e, 7, ...new TextEncoder().encode("from v2")]);
      const newerBytes = new Uint8Array([...encodeEvent(newer), ...extra]);
      expect(decodeEvent(newerBytes).eventId).toBe(newer.eventId); // this version reads it, field dropped
      const messages = [protobufMessage(encodeEvent(known), "m1"), protobufMessage(newerBytes, "m2")];
      const acked: SourceMessage[] = [];
      const store = openAuditStore({ path });
      const ingester = createIngester({ source: arraySource(messages, acked), store });
      await until(() => acked.length === 2, { message: () => `acked ${acked.length}` });
      await ingester.stop();
      expect(ingester.stats().inserted).toBe(2);
      store.close();

      const db = new BetterSqlite3(path, { readonly: true });
      const rows = db
        .prepare("SELECT event_id, decision, request_id, event FROM events ORDER BY seq")
        .all() as { event_id: string; decision: string; request_id: string; event: Uint8Array }[];
      db.close();
      expect(rows.map((r) => ({ ...r, event: Buffer.from(r.event).toString("hex") }))).toStrictEqual([
        {
          event_id: known.eventId,
          decision: "denied",
          request_id: known.requestId,
          event: Buffer.from(encodeEvent(known)).toString("hex"),
        },
        {
          event_id: newer.eventId,
          decision: "denied",
          request_id: newer.requestId,
          event: Buffer.from(newerBytes).toString("hex"),
        },
      ]);
    } finally {
      dir.remove();
    }
  });
});
