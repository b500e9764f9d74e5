/**
 * readEventColumns reads the stored columns out of an encoded event without decoding it, and must
 * accept and refuse exactly what the ingester's full decode did (decodeEvent, then the id, time and
 * indexed field size checks) with the same columns as the store computed from the decoded event: over generated events,
 * over every field number and wire type in every nested message, and over cut and mutated bytes.
 */
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import {
  appendEvent,
  createEventColumns,
  decisionOf,
  type EventColumns,
} from "../../src/event/event-columns.js";
import { eventKind } from "../../src/event/kinds.js";
import { decodeEvent, encodeEvent } from "../../src/event/serialize.js";
import { unstorableTime } from "../../src/event/time.js";
import { MAX_KEY_BYTES, oversizedKey, readEventColumns } from "../../src/event/wire-columns.js";
import { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { sampleEvent, sampleEvents } from "../helpers/events.js";
import { DETAIL_CASES, event, Random, STRINGS } from "./generate-event.js";

type Outcome = { refused: string } | { row: Record<string, unknown> };

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const clean = (text: string) => text.replaceAll("\0", "\uFFFD");

/** What the ingester stored before: the decoded event's columns, or why it refused the bytes. */
function expected(bytes: Uint8Array): Outcome {
  let e: ReturnType<typeof decodeEvent>;
  try {
    e = decodeEvent(bytes);
  } catch (error) {
    return { refused: `throws: ${message(error)}` };
  }
  if (e.eventId === "") return { refused: "the event has no eventId" };
  if (e.eventId.includes("\0"))
    return { refused: "the event's eventId holds U+0000, which no store keeps apart from U+FFFD" };
  if (e.occurredAt === undefined) return { refused: "the event has no occurredAt" };
  const invalid = unstorableTime(e);
  if (invalid !== undefined) return { refused: invalid };
  const { actor, target } = e;
  const oversized = oversizedKey(
    e.eventId,
    actor?.id ?? "",
    target?.type ?? "",
    target?.id ?? "",
    e.requestId,
    e.traceId,
  );
  if (oversized !== undefined) return { refused: oversized };
  // biome-ignore format: one column a line would be longer than it is clear
  return { row: {
    id: clean(e.eventId), kind: eventKind(e.eventType), time: e.occurredAt.getTime(), service: clean(e.service),
    operation: clean(e.operation), actorId: clean(e.actor?.id ?? ""), targetType: clean(e.target?.type ?? ""),
    targetId: clean(e.target?.id ?? ""), success: e.result?.success === true, code: clean(e.result?.code ?? ""),
    decision: decisionOf(e), requestId: clean(e.requestId), traceId: clean(e.traceId), bytes,
  } };
}

function rowOf(c: EventColumns, i: number): Record<string, unknown> {
  // biome-ignore format: as in expected()
  return {
    id: c.ids[i], kind: c.kinds[i], time: c.times[i], service: c.services[i], operation: c.operations[i],
    actorId: c.actorIds[i], targetType: c.targetTypes[i], targetId: c.targetIds[i], success: c.success[i],
    code: c.codes[i], decision: c.decisions[i], requestId: c.requestIds[i], traceId: c.traceIds[i], bytes: c.events[i],
  };
}

/** Strings of generated events: none over an indexed field's limit, so that most are stored (the limit has a test of its own). */
const FITTING = [...STRINGS.filter((s) => Buffer.byteLength(s) <= MAX_KEY_BYTES), "x".repeat(MAX_KEY_BYTES)];

const first = sampleEvent();
const firstBytes = encodeEvent(first);

/** What readEventColumns makes of the bytes, read as the second row of a batch (the first one kept). */
function read(bytes: Uint8Array): Outcome {
  const columns = createEventColumns();
  appendEvent(columns, first, firstBytes);
  const before = rowOf(columns, 0);
  let reason: string | undefined;
  try {
    reason = readEventColumns(columns, bytes);
  } catch (error) {
    reason = `throws: ${message(error)}`;
  }
  if (!isDeepStrictEqual(rowOf(columns, 0), before)) expect(rowOf(columns, 0)).toStrictEqual(before);
  if (columns.length !== (reason === undefined ? 2 : 1))
    expect({ reason, rows: columns.length }).toBe("one row more");
  return reason === undefined ? { row: rowOf(columns, 1) } : { refused: reason };
}

/** Expects readEventColumns to make of `bytes` what the full decode made (expect() only on a difference: it runs 10^5 times). */
function agrees(bytes: Uint8Array, context = ""): Outcome {
  const want = expected(bytes);
  const got = read(bytes);
  if (!isDeepStrictEqual(got, want)) expect(got, `${context} ${bytes}`).toStrictEqual(want);
  return want;
}

/** Encoded, through JSON first: generated events hold numbers no encoder takes (such as 2.5 for a uint32). */
const encode = (e: AuditEvent) => encodeEvent(AuditEvent.fromJSON(AuditEvent.toJSON(e)));

function varint(value: bigint): number[] {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return bytes;
}
const field = (tag: number, ...rest: number[][]) => [...varint(BigInt(tag)), ...rest.flat()];
const delimited = (tag: number, content: number[]) => field(tag, varint(BigInt(content.length)), content);

/** A field of number `n` and wire type `wt`, with payloads that stress reading it as the schema's type. */
function fieldsOf(n: number, wt: number): number[][] {
  const tag = (n << 3) | wt;
  switch (wt) {
    case 0: // small, 2^53 + 1, -1 (10 bytes), 11 bytes (too long), unterminated
      return [[1n], [2n ** 53n + 1n], [-1n]]
        .map((v) => field(tag, varint(v[0] as bigint)))
        .concat([field(tag, [...Array(10).fill(0x80), 0]), field(tag, [0x80, 0x80])]);
    case 1:
      return [field(tag, Array(8).fill(0xff)), field(tag, [1, 2, 3])];
    case 2:
      return [
        delimited(tag, []),
        delimited(tag, [0x61, 0x00, 0xc3, 0x28]), // "a", NUL, bad UTF-8
        delimited(tag, [0x08, 0x01, 0x12, 0x01, 0x62]),
        delimited(tag, [0x08, ...Array(10).fill(0x80), 0]),
        delimited(tag, [0x0f]),
        delimited(tag, [0x12, 0x05, 0x61]), // a string running past its message
        field(tag, [0x05, 0x61]), // past the end
      ];
    case 3:
      return [field(tag, field((n << 3) | 4)), field(tag, field(8, [1]), field(12)), field(tag, [0x08])];
    case 5:
      return [field(tag, [1, 2, 3, 4]), field(tag, [1])];
    default:
      return [field(tag), field(tag, [1])];
  }
}

/** Where a field can sit: top level, or in the nested message of each of these tag paths. */
const SLOTS: number[][] = [
  [],
  ...[34, 58, 66, 74, 114, 130, 138, 146, 162, 170, 186, 194, 202].map((t) => [t]),
  [178, 10],
];

function placed(slot: readonly number[], content: number[]): number[] {
  return slot.reduceRight((inner, tag) => delimited(tag, inner), content);
}

const NOT_A_DATE = "not a time a JavaScript Date can hold";
const OUTSIDE = "outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, the range of a protobuf Timestamp";

/** The kinds of time refusals among `reasons`, each checked to name `field` (and the time, when outside). */
function kindsOf(reasons: Set<string>, field: string): string[] {
  const kinds = new Set<string>();
  for (const reason of reasons) {
    if (reason === `the event's ${field} is ${NOT_A_DATE}`) kinds.add(NOT_A_DATE);
    else {
      expect(reason).toMatch(
        new RegExp(`^the event's ${field} [+-]?\\d{4,6}-\\d\\d-\\d\\dT[\\d:.]+Z is ${OUTSIDE}$`),
      );
      kinds.add(OUTSIDE);
    }
  }
  return [...kinds].sort();
}

describe("readEventColumns", () => {
  it("reads the columns the decoded event gives, for every kind, NULs, defaults and generated events", () => {
    const r = new Random(16, FITTING);
    const events = [
      ...sampleEvents(),
      sampleEvent({ service: "a\u0000b", eventId: "id\u0000" }),
      ...Array.from({ length: 400 }, (_, i) => event(r, [0, 0.2, 0.5, 0.9][i % 4] as number)),
      ...DETAIL_CASES.map((only) => event(r, 0.3, only)),
    ];
    let stored = 0;
    for (const e of events) {
      const bytes = encode(e);
      const want = agrees(bytes);
      if ("row" in want) {
        stored++;
        // The path for events that came as objects or JSON gives the same row.
        const columns = createEventColumns();
        appendEvent(columns, decodeEvent(bytes), bytes);
        expect(rowOf(columns, 0)).toStrictEqual(want.row);
      }
    }
    // A quarter of the generated times lie outside 0001-9999 (refused), in occurredAt or a summary's since.
    expect(stored).toBeGreaterThan(events.length / 4);
  });

  it("refuses and accepts as decodeEvent does, for every field number and wire type in every message", () => {
    const base = [...encodeEvent(sampleEvent())];
    const outcomes = new Set<string>();
    for (const slot of SLOTS) {
      for (let n = 1; n <= 26; n++) {
        for (let wt = 0; wt <= 7; wt++) {
          for (const f of fieldsOf(n, wt)) {
            // Alone in its message, and before a field that follows it.
            for (const content of [f, [...f, 0x08, 0x01]]) {
              const bytes = Uint8Array.from([...base, ...placed(slot, content)]);
              const want = agrees(bytes, `slot ${slot} field ${n} wire type ${wt}:`);
              outcomes.add("row" in want ? "row" : (want.refused.split(":")[0] ?? ""));
            }
          }
        }
      }
    }
    expect([...outcomes].sort()).toStrictEqual([
      "row",
      "the event has no eventId",
      "the event's eventId holds U+0000, which no store keeps apart from U+FFFD",
      "throws",
    ]);
  });

  it("refuses an indexed field over 287 UTF-8 bytes (the most the Recorder writes), naming it, never its text", () => {
    expect(MAX_KEY_BYTES).toBe(287);
    // 287 and 288 bytes of 2-, 3- and 4-byte characters; a lone surrogate counts as U+FFFD (3 bytes).
    const fits = `${"é".repeat(90)}${"€".repeat(20)}${"😀".repeat(11)}\ud800`;
    const over = `${fits}b`;
    expect([Buffer.byteLength(fits), Buffer.byteLength(over)]).toStrictEqual([287, 288]);
    const withField: Record<string, (text: string) => AuditEvent> = {
      eventId: (text) => sampleEvent({ eventId: text }),
      "actor.id": (text) => ({
        ...sampleEvent(),
        actor: { ...sampleEvent().actor, id: text } as AuditEvent["actor"],
      }),
      "target.type": (text) => ({ ...sampleEvent(), target: { type: text, id: "p-1", name: "" } }),
      "target.id": (text) => ({ ...sampleEvent(), target: { type: "project", id: text, name: "" } }),
      requestId: (text) => sampleEvent({ requestId: text }),
      traceId: (text) => sampleEvent({ traceId: text }),
    };
    for (const [name, make] of Object.entries(withField)) {
      expect("row" in agrees(encodeEvent(make(fits))), name).toBe(true);
      expect(agrees(encodeEvent(make(over))), name).toStrictEqual({
        refused:
          `the event's ${name} has 288 UTF-8 bytes, over the 287 of an indexed field ` +
          "(an event of the Recorder has its text fields cut to fit)",
      });
    }
    // Fields no index holds may be longer.
    expect("row" in agrees(encodeEvent(sampleEvent({ service: "s".repeat(5000) })))).toBe(true);
  });

  it("takes the time as the decoded Date holds it: whole ms, none out of Date's range or past 0001-9999", () => {
    const base = [...encodeEvent(sampleEvent())];
    const refused = new Set<string>();
    for (const seconds of [
      0n,
      -1n,
      1_700_000_000n,
      8_640_000_000_000n,
      8_640_000_000_001n,
      -8_640_000_000_001n,
    ]) {
      for (const nanos of [0n, 1n, 999_999n, 999_999_999n, -1n, -999_999n, 2n ** 31n - 1n]) {
        const time = delimited(34, [...field(8, varint(seconds)), ...field(16, varint(nanos))]);
        const want = agrees(Uint8Array.from([...base, ...time]));
        if ("refused" in want) refused.add(want.refused);
      }
    }
    expect(kindsOf(refused, "occurredAt")).toStrictEqual([NOT_A_DATE, OUTSIDE]);
  });

  it("refuses a record summary whose `since` no Date holds, unless a later detail replaces it", () => {
    const summary = [...encodeEvent(sampleEvent({ kind: "recordSummary" }))];
    const refused = new Set<string>();
    for (const seconds of [
      0n,
      -1n,
      8_640_000_000_000n,
      8_640_000_000_001n,
      -8_640_000_000_001n,
      10n ** 15n,
    ]) {
      const since = delimited(210, delimited(10, field(8, varint(seconds))));
      const want = agrees(Uint8Array.from([...summary, ...since]));
      if ("refused" in want) refused.add(want.refused);
    }
    expect(kindsOf(refused, "recordSummary.since")).toStrictEqual([NOT_A_DATE, OUTSIDE]);
    const far = delimited(210, delimited(10, field(8, varint(10n ** 15n))));
    const authz = [...encodeEvent(sampleEvent({ kind: "authz" }))];
    expect("row" in agrees(Uint8Array.from([...summary, ...far, ...authz]))).toBe(true);
    expect("refused" in agrees(Uint8Array.from([...authz, ...far]))).toBe(true);
  });

  it("agrees with decodeEvent on bytes cut anywhere and on mutated bytes (seeded)", () => {
    const r = new Random(4242, FITTING);
    let refused = 0;
    let total = 0;
    for (let k = 0; k < 300; k++) {
      const bytes = encode(event(r, [0, 0.3][k % 2] as number));
      const cuts = k < 20 ? bytes.length : 5;
      for (let j = 0; j < cuts; j++) {
        const end = k < 20 ? j : r.int(bytes.length);
        const want = agrees(bytes.slice(0, end));
        total++;
        if ("refused" in want) refused++;
      }
      for (let j = 0; j < 20; j++) {
        const mutated = [...bytes];
        for (let m = 1 + r.int(3); m > 0; m--) {
          const at = r.int(mutated.length + 1);
          const op = r.int(4);
          const value = r.pick([0, 1, 0x7f, 0x80, 0xff, r.int(256)]);
          if (op === 0) mutated[at] = value;
          else if (op === 1) mutated.splice(at, 0, value);
          else if (op === 2) mutated.splice(at, 1);
          else mutated[at] = (mutated[at] ?? 0) ^ (1 << r.int(8));
        }
        const want = agrees(Uint8Array.from(mutated));
        total++;
        if ("refused" in want) refused++;
      }
    }
    // Both outcomes are well represented (cuts are mostly refused).
    expect(refused).toBeGreaterThan(total / 5);
    expect(total - refused).toBeGreaterThan(total / 40);
  });
});
