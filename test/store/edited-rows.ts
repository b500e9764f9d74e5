/**
 * A SQLite store of a sealed trail whose rows' bytes a test edits afterwards, and what verify, tail and
 * query make of it: the shared set-up of the stored-bytes tests (added bytes, other valid encodings).
 */
import { join } from "node:path";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import BetterSqlite3 from "better-sqlite3";
import { expect } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { type SourceTally, storeEvents } from "../../src/cli/verify-sources.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { encodeEvent } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEYS, SIGNING_KEY } from "../chain/trail.js";
import { tempDir } from "../cli/helpers.js";

/** How many events the trail holds. */
const TRAIL_LENGTH = 7;

/** A sealed trail of TRAIL_LENGTH mutations, each with `attributes`. */
async function sealedTrail(attributes: Record<string, string>): Promise<AuditEvent[]> {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({
    service: "projects",
    emitters: [memory],
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
  });
  for (let i = 1; i <= TRAIL_LENGTH; i++) {
    recorder.recordResourceMutation({
      mutation: "update",
      resourceType: "project",
      resourceId: `p-${i}`,
      attributes,
    });
  }
  await recorder.close();
  return [...memory.events];
}

export interface Field {
  number: number;
  /** The whole field, tag to end. */
  whole: Uint8Array;
  /** A length-delimited field's content. */
  content: Uint8Array;
}

/** The fields of a message's bytes, in their order. */
export function fields(bytes: Uint8Array): Field[] {
  const reader = new BinaryReader(bytes);
  const out: Field[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [number, wireType] = reader.tag();
    let content: Uint8Array = new Uint8Array(0);
    if (wireType === 2) content = reader.bytes();
    else reader.skip(wireType);
    out.push({ number, whole: bytes.subarray(start, reader.pos), content });
  }
  return out;
}

export const hex = (text: string) => Buffer.from(text.replaceAll(" ", ""), "hex");

/**
 * A store of a sealed trail whose events carry `attributes`, row `seq` stored as `edits.get(seq)(event)`
 * (checked to be other bytes than the event's canonical encoding), then `sql` run on it.
 */
export async function storeWith(
  attributes: Record<string, string>,
  edits: ReadonlyMap<number, (event: AuditEvent) => Uint8Array>,
  sql = "",
) {
  const path = join(tempDir(), "audit.db");
  const trail = await sealedTrail(attributes);
  const store = openAuditStore({ path });
  store.insert(trail);
  store.close();
  const db = new BetterSqlite3(path);
  const update = db.prepare("UPDATE events SET event = ? WHERE seq = ?");
  for (const [seq, bytes] of edits) {
    const event = trail[seq - 1] as AuditEvent;
    const stored = bytes(event);
    expect(Buffer.from(stored)).not.toStrictEqual(Buffer.from(encodeEvent(event)));
    update.run(stored, seq);
  }
  if (sql !== "") db.exec(sql);
  db.close();
  return { path, trail };
}

/** What verify (its unreadable rows and each chain's findings), tail(0) and query make of the store. */
export async function readStore(path: string) {
  const store = openAuditStore({ path, readonly: true });
  try {
    const tally: SourceTally = { unreadable: [], skippedLines: 0 };
    const report = await verifyChains(storeEvents(store, tally), {
      publicKeys: PUBLIC_KEYS,
      expectSealed: true,
    });
    const findings = report.chains.map((chain) => chain.findings.map(({ kind, detail }) => [kind, detail]));
    const tail = store.tail(0, 100);
    const queried = store.query({}, { limit: 100 });
    return { tally, findings, tail, queried };
  } finally {
    store.close();
  }
}
