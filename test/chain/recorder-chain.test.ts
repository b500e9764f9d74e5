import { afterEach, describe, expect, it, vi } from "vitest";
import { canonicalBytes, chainHash } from "../../src/chain/canonical.js";
import { checkpointEventHash, checkpointSignatureValid } from "../../src/chain/checkpoint.js";
import { verifyChains } from "../../src/chain/verify.js";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { decodeEvent, encodeEvent, eventFromJson, eventToJson } from "../../src/event/serialize.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { withoutChain } from "../helpers/chain.js";
import { fixedRecorder } from "../helpers/recorder.js";
import { KEY_ID, PUBLIC_KEY, PUBLIC_KEYS, recordMutations, recordTrail, SIGNING_KEY } from "./trail.js";

const checkpointOf = (event: AuditEvent | undefined) =>
  event?.detail?.$case === "checkpoint" ? event.detail.value : undefined;

describe("the chain a Recorder writes", () => {
  afterEach(() => vi.useRealTimers());

  it("links every event: one chain id, seq 1, 2, 3, each prevHash the hash before, each hash over the event", async () => {
    const { recorder, memory } = fixedRecorder();
    recordMutations(recorder, 3);
    const events = memory.events;
    withoutChain(events); // checks the form and the links
    expect(events.map((e) => e.chain?.seq)).toStrictEqual([1, 2, 3]);
    expect(new Set(events.map((e) => e.chain?.chainId)).size).toBe(1);
    expect(events.map((e) => e.schemaVersion)).toStrictEqual([2, 2, 2]);
    expect((await verifyChains(events)).ok).toBe(true);
    // A second Recorder starts a chain of its own.
    const other = fixedRecorder();
    recordMutations(other.recorder, 1);
    expect(other.memory.events[0]?.chain?.chainId).not.toBe(events[0]?.chain?.chainId);
  });

  it("hashes the same bytes for an event read back from protobuf or proto3 JSON, attributes in any order", () => {
    const { recorder, memory } = fixedRecorder();
    recordMutations(recorder, 1);
    const [recorded] = memory.events;
    if (recorded === undefined) throw new Error("nothing recorded");
    // Integer-like keys come first in a JS object whatever their insertion order: the canonical order is by bytes.
    const event = { ...recorded, attributes: { b: "2", "10": "x", a: "1", "9": "y", é: "z" } };
    const reversed = { ...event, attributes: Object.fromEntries(Object.entries(event.attributes).reverse()) };
    const bytes = canonicalBytes(event);
    expect(canonicalBytes(reversed)).toStrictEqual(bytes);
    expect(canonicalBytes(decodeEvent(encodeEvent(event)))).toStrictEqual(bytes);
    expect(canonicalBytes(eventFromJson(JSON.parse(JSON.stringify(eventToJson(event)))))).toStrictEqual(
      bytes,
    );
    const keys = Buffer.from(bytes).toString("latin1");
    expect(
      ["10", "9", "a", "b"].map((key) => keys.indexOf(`\n${String.fromCharCode(key.length)}${key}`)),
    ).toSatisfy((positions: number[]) =>
      positions.every((p, i) => p > 0 && (i === 0 || p > (positions[i - 1] ?? 0))),
    );
    // chain.hash is left out of the bytes it is the hash of; everything else is in them.
    const chain = { chainId: "c", seq: 1, prevHash: "", hash: "" };
    expect(chainHash({ ...event, chain: { ...chain, hash: "anything" } })).toBe(
      chainHash({ ...event, chain }),
    );
    expect(chainHash({ ...event, chain, service: "other" })).not.toBe(chainHash({ ...event, chain }));
  });

  it("leaves chain unset with chain: false", () => {
    const { recorder, memory } = fixedRecorder({ chain: false });
    recordMutations(recorder, 2);
    expect(memory.events.map((e) => e.chain)).toStrictEqual([undefined, undefined]);
  });

  it("gives a seq only to events handed to the emitter: a failed build leaves no gap, a dropped event does", async () => {
    let calls = 0;
    const memory = createMemoryEmitter();
    // Drops the second event it is given, as a full buffer would.
    const dropping: Emitter = {
      ...memory,
      name: "dropping",
      emit: (e) => (++calls === 2 ? "dropped" : memory.emit(e)),
    };
    let failClock = false;
    const recorder = createRecorder({
      service: "projects",
      emitters: [dropping],
      now: () => (failClock ? new Date(Number.NaN) : new Date()),
    });
    recordMutations(recorder, 1);
    failClock = true;
    expect(recorder.recordResourceMutation({ mutation: "create", resourceType: "t", resourceId: "x" })).toBe(
      "failed",
    );
    failClock = false;
    recordMutations(recorder, 2, 2);
    expect(memory.events.map((e) => e.chain?.seq)).toStrictEqual([1, 3]);
    expect(recorder.stats()).toMatchObject({ accepted: 2, dropped: 1, failed: 1 });
    const [chain] = (await verifyChains(memory.events)).chains;
    expect(chain?.findings).toStrictEqual([
      { kind: "missing", seq: 2, toSeq: 2, eventId: "", detail: "seq 2 is missing" },
    ]);
  });

  it("signs a checkpoint every checkpointEvery events over the event before it, and a final one on close", async () => {
    const events = await recordTrail(5, { checkpointEvery: 2 });
    const kinds = events.map((e) => (e.eventType === EventType.EVENT_TYPE_CHAIN_CHECKPOINT ? "cp" : "m"));
    expect(kinds).toStrictEqual(["m", "m", "cp", "m", "m", "cp", "m", "cp"]);
    const checkpoints = events.filter((e) => checkpointOf(e) !== undefined);
    expect(
      checkpoints.map((e) => [e.chain?.seq, checkpointOf(e)?.headSeq, checkpointOf(e)?.final]),
    ).toStrictEqual([
      [3, 2, false],
      [6, 5, false],
      [8, 7, true],
    ]);
    for (const event of checkpoints) {
      const detail = checkpointOf(event);
      if (detail === undefined || event.chain === undefined) throw new Error("not a checkpoint");
      expect(detail.headHash).toBe(events[detail.headSeq - 1]?.chain?.hash);
      expect(detail.keyId).toBe(KEY_ID);
      // Statement v2: over the checkpoint event too, not valid as a v1 statement.
      const eventHash = checkpointEventHash(event);
      expect(checkpointSignatureValid(PUBLIC_KEY, event.chain.chainId, detail, eventHash)).toBe(true);
      expect(checkpointSignatureValid(PUBLIC_KEY, event.chain.chainId, detail)).toBe(false);
      expect(checkpointSignatureValid(PUBLIC_KEY, "another-chain", detail, eventHash)).toBe(false);
    }
    const report = await verifyChains(events, { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect(report.chains[0]).toMatchObject({
      sealed: true,
      unsealed: 0,
      checkpoints: 3,
      verifiedCheckpoints: 3,
      findings: [],
    });
  });

  it("counts checkpoints like events; after close, drops events without building or chaining them", async () => {
    const memory = createMemoryEmitter();
    const recorder = createRecorder({
      service: "projects",
      emitters: [memory],
      chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
    });
    recordMutations(recorder, 2);
    await recorder.close();
    await recorder.close();
    expect(
      recorder.recordResourceMutation({ mutation: "create", resourceType: "t", resourceId: "late" }),
    ).toBe("dropped");
    expect(memory.events.map((e) => [e.chain?.seq, checkpointOf(e)?.final])).toStrictEqual([
      [1, undefined],
      [2, undefined],
      [3, true],
    ]);
    expect(recorder.stats()).toMatchObject({
      recorded: { "resource.mutation": 2, "chain.checkpoint": 1 },
      accepted: 3,
      dropped: 1,
    });
  });

  it("writes a checkpoint every checkpointIntervalMs when events came since the last, none when none did", async () => {
    vi.useFakeTimers();
    const memory = createMemoryEmitter();
    const recorder = createRecorder({
      service: "projects",
      emitters: [memory],
      chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointIntervalMs: 5000 },
    });
    recordMutations(recorder, 1);
    vi.advanceTimersByTime(5000);
    vi.advanceTimersByTime(5000);
    expect(memory.events.map((e) => [e.chain?.seq, checkpointOf(e)?.headSeq])).toStrictEqual([
      [1, undefined],
      [2, 1],
    ]);
    await recorder.close();
    vi.advanceTimersByTime(20_000);
    expect(memory.events.map((e) => checkpointOf(e)?.final)).toStrictEqual([undefined, false, true]);
  });
});
