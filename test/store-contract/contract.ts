/**
 * The audit store contract: one suite of cases that every store (SQLite, PostgreSQL) passes, through
 * the asynchronous shape of `PostgresStore` (the SQLite store is wrapped to it). Each case opens a
 * fresh, empty store from the factory.
 */
import { afterEach, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import type { EventSink } from "../../src/emitters/sink.js";
import { AuditConfigError, AuditInputError } from "../../src/errors/index.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import type { AuditPage } from "../../src/store/audit-store.js";
import { encodeCursor } from "../../src/store/page-cursor.js";
import type { PruneOptions, PruneReport } from "../../src/store/prune-plan.js";
import type { AuditQuery, AuditStats, PageOptions } from "../../src/store/query.js";
import type { EditedRow, UndecodableRow } from "../../src/store/stored-rows.js";
import { KEY_ID, PUBLIC_KEYS, recordTrail } from "../chain/trail.js";
import { sampleEvent, sampleEvents } from "../helpers/events.js";
import { expectedIds, OPERATIONS, recordedEvents, T0, TRACE } from "./events.js";

/** What the contract uses of a store: `PostgresStore`'s methods. */
export interface ContractStore {
  insert(events: readonly AuditEvent[]): Promise<number>;
  query(filter?: AuditQuery, page?: PageOptions): Promise<AuditPage>;
  tail(
    afterSeq: number,
    limit?: number,
  ): Promise<{ events: AuditEvent[]; lastSeq: number; undecodable?: UndecodableRow[]; edited?: EditedRow[] }>;
  lastSeq(): Promise<number>;
  stats(filter?: AuditQuery): Promise<AuditStats>;
  prune(options: PruneOptions): Promise<number>;
  pruneReport(options: PruneOptions): Promise<PruneReport>;
  sink(): EventSink;
  close(): Promise<void>;
}

/** A fresh store, and the raw database access the contract needs to set up damaged states. */
export interface OpenedStore {
  store: ContractStore;
  /** Overwrites the stored event bytes of the row with this id, as a damaged database would hold them. */
  damage(eventId: string, bytes: Uint8Array): Promise<void>;
  /**
   * Sets a column of the row with this id to `value` (a boolean for `success`, a number for `seq`),
   * the event left as it is.
   */
  editColumn(
    eventId: string,
    column: "actor_id" | "success" | "decision" | "seq",
    value: string | boolean | number,
  ): Promise<void>;
  /** Sets the schema version the database records (as a newer library would have written it). */
  setSchemaVersion(version: number): Promise<void>;
  /** Opens the same database again (after `store.close()`). */
  reopen(): Promise<ContractStore>;
}

/** Runs the contract suite against the stores `open` makes. */
export function describeStoreContract(
  name: string,
  open: () => Promise<OpenedStore>,
  schemaVersion: number,
): void {
  describe(`audit store contract: ${name}`, () => {
    const opened: ContractStore[] = [];
    const fresh = async () => {
      const handle = await open();
      opened.push(handle.store);
      return handle;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close().catch(() => {});
    });

    const allPages = async (
      store: ContractStore,
      filter: AuditQuery,
      limit: number,
      between?: () => Promise<void>,
    ) => {
      const seen: AuditEvent[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.query(filter, cursor === undefined ? { limit } : { limit, cursor });
        seen.push(...page.events);
        cursor = page.nextCursor;
        await between?.();
      } while (cursor !== undefined);
      return seen;
    };

    it("stores whole events and gives them back unchanged; an id stored again is skipped", async () => {
      const { store } = await fresh();
      const samples = sampleEvents(); // every field set: a lost or changed field shows
      expect(await store.insert(samples)).toBe(samples.length);
      expect(await store.insert(samples.slice(0, 2))).toBe(0); // at-least-once delivery re-sends batches
      const recorded = recordedEvents(5);
      expect(await store.insert([...recorded, samples[3] as AuditEvent])).toBe(5);
      expect(await store.insert([])).toBe(0);
      const back = await allPages(store, {}, 1000);
      expect(back).toStrictEqual([...recorded.reverse(), ...[...samples].reverse()]);
    });

    const billing = sampleEvent({
      kind: "authz",
      eventId: "019b7ca9-8f2e-7000-8000-0000000000b1",
      service: "billing",
    });
    it.each<[string, AuditQuery]>([
      ["no filter", {}],
      ["one actor", { actorId: "alice" }],
      ["a type and an actor", { type: "authz.decision", actorId: "bob" }],
      ["two types", { type: ["tuple.change", "resource.mutation"] }],
      ["a target type", { targetType: "service" }],
      ["a target", { targetType: "project", targetId: "p-3" }],
      [
        "an operation and a time range",
        { operation: OPERATIONS[1], from: new Date(T0 + 86_400_000), to: new Date(T0 + 2 * 86_400_000) },
      ],
      ["a service", { service: "billing" }],
      ["successes", { success: true }],
      ["failures of one actor", { success: false, actorId: "carol" }],
      ["denied decisions", { decision: "denied" }],
      ["decisions in error for a target", { decision: "error", targetId: "p-5" }],
      ["a filter nothing matches", { actorId: "mallory" }],
      ["the events of one call", { requestId: "req-3" }],
      ["the events of one trace", { traceId: TRACE }],
      ["one call's authz decisions", { requestId: "req-2", type: "authz.decision" }],
      ["one event by its id", { eventId: "019b7ca9-8f2e-7000-8000-0000000000b1" }],
      [
        "an event id and a filter it does not match",
        { eventId: "019b7ca9-8f2e-7000-8000-0000000000b1", actorId: "alice" },
      ],
    ])("filters: %s", async (_name, filter) => {
      const { store } = await fresh();
      const events = [...recordedEvents(600), billing];
      await store.insert(events);
      const ids = (await allPages(store, filter, 1000)).map((e) => e.eventId);
      expect(ids).toStrictEqual(expectedIds(events, filter));
      expect((await store.stats(filter)).total).toBe(ids.length);
    });

    it("pages visit every matching event exactly once, newest first, while inserts continue", async () => {
      const { store } = await fresh();
      const events = recordedEvents(1200);
      await store.insert(events);
      const filter: AuditQuery = { actorId: "alice" };
      let more = 5000;
      const seen = await allPages(store, filter, 37, async () => {
        // Newer and older events keep arriving between pages.
        await store.insert([...recordedEvents(10, more), ...recordedEvents(5, -(more - 4990) * 5)]);
        more += 10;
      });
      const ids = seen.map((e) => e.eventId);
      expect(new Set(ids).size).toBe(ids.length);
      const times = seen.map((e) => e.occurredAt?.getTime() ?? 0);
      expect(times).toStrictEqual([...times].sort((a, b) => b - a));
      const seenIds = new Set(ids);
      expect(expectedIds(events, filter).filter((id) => !seenIds.has(id))).toStrictEqual([]);
    });

    it("pages of events with the same time are cut stably by insertion order", async () => {
      const { store } = await fresh();
      const same = recordedEvents(30).map((e) => ({ ...e, occurredAt: new Date(T0) }));
      await store.insert(same);
      const ids = (await allPages(store, {}, 4)).map((e) => e.eventId);
      expect(ids).toStrictEqual(same.map((e) => e.eventId).reverse());
    });

    it("text filters match exactly: no wildcards, quotes or case folding", async () => {
      const { store } = await fresh();
      const actors = ["%", "_", "a%", "alice", "ALICE", "o'brien", 'say "hi"', "\\", ""];
      const events = recordedEvents(actors.length).map((e, i): AuditEvent => {
        if (e.actor === undefined) throw new Error(`recorded event ${i} has no actor`);
        return { ...e, actor: { ...e.actor, id: actors[i] as string } };
      });
      await store.insert(events);
      for (const [i, actorId] of actors.entries()) {
        const found = await allPages(store, { actorId }, 100);
        expect([actorId, found.map((e) => e.eventId)]).toStrictEqual([actorId, [events[i]?.eventId]]);
      }
      expect((await store.query({ actorId: "a_ice" })).events).toStrictEqual([]);
      expect((await store.query({ actorId: "%%" })).events).toStrictEqual([]);
    });

    it("tail follows new events in insertion order", async () => {
      const { store } = await fresh();
      expect(await store.lastSeq()).toBe(0);
      expect(await store.tail(0)).toStrictEqual({ events: [], lastSeq: 0 });
      const first = recordedEvents(12);
      await store.insert(first);
      const head = await store.tail(0, 5);
      expect(head.events).toStrictEqual(first.slice(0, 5));
      const rest = await store.tail(head.lastSeq);
      expect(rest.events).toStrictEqual(first.slice(5));
      expect(rest.lastSeq).toBe(await store.lastSeq());
      const older = recordedEvents(3, -100); // inserted later, occurred earlier: still next in the tail
      await store.insert(older);
      const next = await store.tail(rest.lastSeq);
      expect(next.events).toStrictEqual(older);
      expect((await store.tail(next.lastSeq)).events).toStrictEqual([]);
    });

    it("counts events before 1970 in the hour they occurred in, not the hour after", async () => {
      const { store } = await fresh();
      const at = (time: string, n: number) =>
        sampleEvent({ eventId: `old-${n}`, occurredAt: new Date(Date.parse(time)) });
      await store.insert([
        at("1969-12-31T22:00:00.000Z", 1),
        at("1969-12-31T22:59:59.999Z", 2),
        at("1969-12-31T23:30:00.000Z", 3),
        at("1970-01-01T00:30:00.000Z", 4),
        at("0001-01-01T00:00:00.000Z", 5),
      ]);
      expect((await store.stats()).perHour).toStrictEqual([
        { hour: "0001-01-01T00:00:00.000Z", count: 1 },
        { hour: "1969-12-31T22:00:00.000Z", count: 2 },
        { hour: "1969-12-31T23:00:00.000Z", count: 1 },
        { hour: "1970-01-01T00:00:00.000Z", count: 1 },
      ]);
    });

    it("counts by type, result, decision, operation and hour", async () => {
      const { store } = await fresh();
      await store.insert(recordedEvents(40));
      const stats = await store.stats();
      expect(stats.total).toBe(40);
      expect(stats.byType).toStrictEqual({
        "authn.result": 10,
        "authz.decision": 10,
        "resource.mutation": 10,
        "tuple.change": 10,
      });
      expect(stats.byResult).toStrictEqual({ failure: 8, success: 32 });
      expect(stats.byDecision).toStrictEqual({ allowed: 3, denied: 3, error: 2, no_rule: 2 });
      expect(stats.topOperations.map((o) => o.count)).toStrictEqual([14, 13, 13]);
      expect(stats.topOperations[0]?.operation).toBe(OPERATIONS[0]);
      expect(stats.perHour.reduce((sum, h) => sum + h.count, 0)).toBe(40);
      expect(stats.perHour[0]).toStrictEqual({ hour: new Date(T0).toISOString(), count: 9 });
      const alice = await store.stats({ actorId: "alice", success: true });
      expect(alice.total).toBe(expectedIds(recordedEvents(40), { actorId: "alice", success: true }).length);
      expect(await store.stats({ actorId: "mallory" })).toStrictEqual({
        total: 0,
        byType: {},
        byResult: {},
        byDecision: {},
        topOperations: [],
        perHour: [],
      });
    });

    it("prune deletes exactly the events older than the given time, across months", async () => {
      const { store } = await fresh();
      const events = recordedEvents(500, -250, 6 * 3_600_000); // about four months around T0
      await store.insert(events);
      const before = new Date(T0 + 12 * 3_600_000 + 1);
      const older = events.filter((e) => (e.occurredAt?.getTime() ?? 0) < before.getTime()).length;
      expect(await store.prune({ before })).toBe(older);
      const left = (await allPages(store, {}, 1000)).map((e) => e.eventId);
      expect(left).toStrictEqual(expectedIds(events, { from: before }));
      expect(await store.prune({ before })).toBe(0);
      // An event of a month already pruned can still be stored.
      const late = recordedEvents(1, -200, 6 * 3_600_000);
      expect(await store.insert(late)).toBe(1);
      expect((await store.query({ to: before })).events).toStrictEqual(late);
      await expect(store.prune({ before: new Date("nope") })).rejects.toThrow(
        "prune needs `before`, a valid Date",
      );
    });

    it("prune keeps rows above position 2^53 - 1 (put there from outside): it deleted the row a rounded position named", async () => {
      const handle = await fresh();
      const [old, newer] = recordedEvents(2, -1, 2 * 3_600_000); // T0 - 2 h, T0
      await handle.store.insert([old, newer] as AuditEvent[]);
      await handle.editColumn(newer?.eventId ?? "", "seq", "9007199254740992"); // 2^53
      // 2^53 + 1, as a JavaScript number 2^53: the newer row's position.
      await handle.editColumn(old?.eventId ?? "", "seq", "9007199254740993");
      expect(await handle.store.prune({ before: new Date(T0 - 3_600_000) })).toBe(0);
      const named = (await handle.store.tail(0)).undecodable?.map((row) => row.eventId);
      expect(named).toStrictEqual([newer?.eventId, old?.eventId]);
    });

    it("prunes each chain up to a signed checkpoint it keeps, so the rest verifies; --cutChains as before", async () => {
      const { store } = await fresh();
      // Seqs 1-4 mutations, 5 checkpoint, 6-9, 10 checkpoint, 11-12, 13 final; one a day from Jan 20.
      const DAY = 86_400_000;
      const JAN_20 = Date.parse("2026-01-20T00:00:00Z");
      let day = 0;
      const trail = await recordTrail(10, {
        checkpointEvery: 4,
        recorder: { now: () => new Date(JAN_20 + day++ * DAY) },
      });
      const seqTime = (seq: number) => trail[seq - 1]?.occurredAt?.getTime() ?? Number.NaN;
      expect(trail.map((e) => e.chain?.seq)).toStrictEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
      expect(seqTime(13)).toBeGreaterThan(seqTime(1)); // one clock, going forward
      // An event without a chain from December (a month of its own), and a chain without checkpoints.
      const { chain: _, ...unchained } = sampleEvent({
        occurredAt: new Date(Date.parse("2025-12-15T00:00:00Z")),
      });
      // Jan 24 to 27, 00:00 (T0 is Nov 20), a day apart.
      const unsigned = recordedEvents(4, -300, DAY);
      // Out of order, in batches, as ingesters would.
      await store.insert(trail.slice(6));
      await store.insert([unchained, ...unsigned]);
      await store.insert(trail.slice(0, 6));
      const before = new Date(seqTime(7)); // seqs 1-6 are older
      const olderUnsigned = unsigned.filter((e) => (e.occurredAt?.getTime() ?? 0) < before.getTime()).length;
      const expected: PruneReport = {
        deleted: 4 + 1 + olderUnsigned,
        kept: { anchors: 1, afterLastCheckpoint: 1, behindNewer: 0 },
        anchoredChains: 1,
        // The unsigned chain lost some of its events, or all of them.
        wholeChains: olderUnsigned === unsigned.length ? 1 : 0,
        unsignedChains: olderUnsigned > 0 && olderUnsigned < unsigned.length ? 1 : 0,
        unchained: 1,
      };
      expect(await store.pruneReport({ before, dryRun: true })).toStrictEqual(expected);
      expect((await store.stats()).total).toBe(trail.length + 1 + unsigned.length);
      expect(await store.pruneReport({ before })).toStrictEqual(expected);
      const left = await allPages(store, {}, 1000);
      expect(new Set(left.map((e) => e.eventId))).toStrictEqual(
        new Set(
          [
            ...trail.slice(4),
            ...unsigned.filter((e) => !((e.occurredAt?.getTime() ?? 0) < before.getTime())),
          ].map((e) => e.eventId),
        ),
      );
      const signed = trail[0]?.chain?.chainId;
      const report = await verifyChains(left.filter((e) => e.chain?.chainId === signed).reverse(), {
        publicKeys: PUBLIC_KEYS,
        expectSealed: true,
      });
      expect([report.ok, report.chains[0]?.pruned]).toStrictEqual([
        true,
        { toSeq: 4, anchorSeq: 5, keyId: KEY_ID },
      ]);
      // Again: nothing more to cut. With cutChains, every older event goes, checkpoints included.
      expect((await store.pruneReport({ before })).deleted).toBe(0);
      expect(await store.pruneReport({ before, cutChains: true, dryRun: true })).toMatchObject({
        deleted: 2,
      });
      expect(await store.pruneReport({ before, cutChains: true })).toStrictEqual({
        deleted: 2,
        kept: { anchors: 0, afterLastCheckpoint: 0, behindNewer: 0 },
        anchoredChains: 0,
        wholeChains: 0,
        unsignedChains: 0,
        unchained: 0,
      });
      expect((await store.query({ to: before })).events).toStrictEqual([]);
      await expect(store.pruneReport({ before, cutChains: "yes" as unknown as boolean })).rejects.toThrow(
        "prune's `cutChains` must be a boolean",
      );
    });

    it("skips rows whose stored event cannot be read, naming each at its place", async () => {
      const handle = await fresh();
      const events = recordedEvents(6);
      await handle.store.insert(events);
      const [a, b] = [events[4], events[1]] as AuditEvent[];
      await handle.damage(a.eventId, new Uint8Array([0xff, 0xff, 0xff]));
      await handle.damage(b.eventId, new Uint8Array()); // an empty message decodes, to the wrong id
      const page = await handle.store.query({}, { limit: 10 });
      expect(page.events.map((e) => e.eventId)).toStrictEqual(
        [events[5], events[3], events[2], events[0]].map((e) => e?.eventId),
      );
      expect(page.undecodable?.map(({ eventId, index }) => ({ eventId, index }))).toStrictEqual([
        { eventId: a.eventId, index: 1 },
        { eventId: b.eventId, index: 3 },
      ]);
      expect(page.undecodable?.[0]?.occurredAtMs).toBe(a.occurredAt?.getTime());
      expect(page.undecodable?.[1]?.reason).toBe("the stored event's id does not match its row");
      const tail = await handle.store.tail(0);
      expect(tail.events).toHaveLength(4);
      expect(tail.undecodable?.map((u) => u.eventId)).toStrictEqual([b.eventId, a.eventId]);
      expect((await handle.store.query({ actorId: "alice" })).undecodable).toBeUndefined();
    });

    it("tail names rows whose filter columns were edited around their event, and still returns the events", async () => {
      const handle = await fresh();
      // Every kind of event, one with U+0000 in its ids (PostgreSQL's columns hold U+FFFD for it).
      const withNul = { ...sampleEvent(), eventId: "nul-1", actor: { ...sampleEvent().actor, id: "a\0b" } };
      const events = [...recordedEvents(12), withNul as AuditEvent];
      await handle.store.insert(events);
      expect(await handle.store.tail(0)).toStrictEqual({ events, lastSeq: await handle.store.lastSeq() });
      const authz = events.find((e) => e.detail?.$case === "authz") as AuditEvent;
      await handle.editColumn(events[2]?.eventId as string, "actor_id", "mallory");
      await handle.editColumn(events[5]?.eventId as string, "success", events[5]?.result?.success !== true);
      await handle.editColumn(authz.eventId, "decision", "allowed_by_edit");
      const tail = await handle.store.tail(0);
      expect(tail.events).toStrictEqual(events);
      expect(tail.edited).toStrictEqual(
        [
          { eventId: events[2]?.eventId, column: "actor_id" },
          { eventId: events[5]?.eventId, column: "success" },
          { eventId: authz.eventId, column: "decision" },
        ]
          .map((edit) => ({ ...edit, seq: events.findIndex((e) => e.eventId === edit.eventId) + 1 }))
          .sort((a, b) => a.seq - b.seq),
      );
      // Query pages do not read the columns back (they would slow every page).
      expect("edited" in (await handle.store.query({}, { limit: 50 }))).toBe(false);
    });

    it("tail from the start names rows moved below position 1, which a read from position 0 never reaches", async () => {
      const handle = await fresh();
      const events = recordedEvents(5);
      await handle.store.insert(events);
      const [moved, forged] = [events[4], events[1]] as AuditEvent[];
      await handle.editColumn(moved.eventId, "seq", -1);
      await handle.editColumn(forged.eventId, "seq", 0);
      const reason =
        "its position (seq) is below 1, which the store never gives a row: it was moved or put there from outside";
      const head = await handle.store.tail(0, 2);
      expect(head.undecodable).toStrictEqual([
        { seq: -1, eventId: moved.eventId, occurredAtMs: moved.occurredAt?.getTime(), index: 0, reason },
        { seq: 0, eventId: forged.eventId, occurredAtMs: forged.occurredAt?.getTime(), index: 0, reason },
      ]);
      expect(head.events).toStrictEqual([events[0], events[2]]);
      // Named once: a tail that goes on from a position does not repeat them.
      expect(await handle.store.tail(head.lastSeq)).toStrictEqual({ events: [events[3]], lastSeq: 4 });
    });

    it("rejects bad filters and pages with precise errors", async () => {
      const { store } = await fresh();
      const bad: [AuditQuery, PageOptions, string][] = [
        [{ from: new Date("x") }, {}, "`from` must be a valid Date"],
        [{ type: "nope" as never }, {}, "`type` must be among"],
        [{ actorId: 7 as never }, {}, "`actorId` must be a string"],
        [{ decision: "maybe" as never }, {}, "`decision` must be among"],
        [{ type: 5 as never }, {}, "`type` must be among"],
        [{ actor: "alice" } as never, {}, "audit query: unknown name `actor`"],
        [{}, { limt: 5 } as never, "audit query: page: unknown name `limt` (did you mean `limit`?)"],
        [{}, { limit: 0 }, "`limit` must be an integer from 1 to 1000"],
        [{}, { cursor: "garbage" }, "the cursor is not one this store made"],
        // Altered cursors that base64url and Number would still read as some position.
        ...[
          `${encodeCursor(T0, 4)}!~`,
          `${encodeCursor(T0, 4)}==`,
          ` ${encodeCursor(T0, 4)}`,
          Buffer.from(`0${T0}:4`).toString("base64url"),
          Buffer.from(`${T0}:04`).toString("base64url"),
          Buffer.from("-0:4").toString("base64url"),
          Buffer.from(`${T0}:9007199254740993`).toString("base64url"), // beyond 2^53: read as another seq
        ].map((cursor): [AuditQuery, PageOptions, string] => [
          {},
          { cursor },
          "the cursor is not one this store made",
        ]),
      ];
      for (const [filter, page, message] of bad) {
        const attempt = store.query(filter, page);
        await expect(attempt).rejects.toThrow(AuditInputError);
        await expect(attempt).rejects.toThrow(message);
      }
    });

    it("tail, stats and insert refuse bad arguments with precise errors", async () => {
      const { store } = await fresh();
      const tails: [unknown, unknown, string][] = [
        ["x", undefined, 'audit tail: `afterSeq` must be a whole number from 0 to 2^53 - 1, got "x"'],
        [Number.NaN, undefined, "audit tail: `afterSeq` must be a whole number from 0 to 2^53 - 1, got NaN"],
        [-1, undefined, "audit tail: `afterSeq` must be a whole number from 0 to 2^53 - 1, got -1"],
        [1.5, undefined, "audit tail: `afterSeq` must be a whole number from 0 to 2^53 - 1, got 1.5"],
        [0, -1, "audit tail: `limit` must be an integer from 1 to 1000, got -1"],
        [0, 0, "audit tail: `limit` must be an integer from 1 to 1000, got 0"],
        [0, 1001, "audit tail: `limit` must be an integer from 1 to 1000, got 1001"],
        [0, "abc", 'audit tail: `limit` must be an integer from 1 to 1000, got "abc"'],
      ];
      for (const [afterSeq, limit, message] of tails) {
        const attempt = store.tail(afterSeq as number, limit as number);
        await expect(attempt).rejects.toThrow(AuditInputError);
        await expect(attempt).rejects.toThrow(message);
      }
      const stats = store.stats({ type: 5 as never });
      await expect(stats).rejects.toThrow(AuditInputError);
      await expect(stats).rejects.toThrow("audit query: `type` must be among");
      const inserts: [unknown, string][] = [
        [undefined, "audit store insert: `events` must be an array of AuditEvents, got undefined"],
        [
          [{}],
          "audit store insert: events[0] must be an AuditEvent (an object with a string eventId), got an object",
        ],
        [
          [sampleEvent(), null],
          "audit store insert: events[1] must be an AuditEvent (an object with a string eventId), got null",
        ],
      ];
      for (const [events, message] of inserts) {
        const attempt = store.insert(events as AuditEvent[]);
        await expect(attempt).rejects.toThrow(AuditInputError);
        await expect(attempt).rejects.toThrow(message);
      }
      expect(await store.lastSeq()).toBe(0);
      expect((await store.tail(0, 1000)).lastSeq).toBe(0);
    });

    it("refuses to open a database written by a newer schema version", async () => {
      const handle = await fresh();
      await handle.store.insert(recordedEvents(3));
      await handle.store.close();
      await handle.setSchemaVersion(schemaVersion + 1);
      const reopened = handle.reopen();
      await expect(reopened).rejects.toThrow(AuditConfigError);
      await expect(reopened).rejects.toThrow(
        `schema version ${schemaVersion + 1}, newer than this library's ${schemaVersion}; upgrade grpc-audit`,
      );
      await handle.setSchemaVersion(schemaVersion);
      const again = await handle.reopen();
      opened.push(again);
      expect((await again.stats()).total).toBe(3);
    });

    it("works as a sink of the delivery pipeline", async () => {
      const { store } = await fresh();
      const sink = store.sink();
      const events = recordedEvents(7);
      await sink.write(events);
      await sink.write(events.slice(2)); // a retried batch
      expect((await allPages(store, {}, 100)).map((e) => e.eventId)).toStrictEqual(expectedIds(events, {}));
    });
  });
}
