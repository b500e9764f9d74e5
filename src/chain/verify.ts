import { KeyObject } from "node:crypto";
import { AuditInputError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { eventKind } from "../event/kinds.js";
import { notAnEvent } from "../event/serialize.js";
import { type AuditEvent, EventType } from "../gen/grpcaudit/v1/event.js";
import { chainHash } from "./canonical.js";
import { ChainColumns } from "./chain-columns.js";
import { checkpointEventHash } from "./checkpoint.js";
import { checkChain } from "./verify-chain.js";
import type { ChainReport, VerifyOptions, VerifyReport } from "./verify-types.js";

/**
 * Verifies the tamper-evident chains in a trail: reads the events (in the source's own order, such as
 * a store's insertion order or a log file's lines), groups them by chain id, orders them by seq and
 * reports per chain what is wrong (see ChainFindingKind), or nothing. At-least-once duplicates (the
 * same event read twice, byte for byte) are counted, not flagged. Keeps about 60 bytes per event in
 * memory (its seq, hash and id, packed), not the events; only checkpoints and events that do not
 * match their hash are kept whole. A trail without chained events verifies nothing: with
 * `expectSealed` that is an `empty` finding, without it `chains` is empty. Rejects with an
 * AuditInputError for an element that is not an event (null, a number).
 *
 * ```ts
 * const report = await verifyChains(events, { publicKeys: new Map([["audit-2026", publicKey]]) });
 * if (!report.ok) for (const chain of report.chains) console.log(chain.chainId, chain.findings);
 * ```
 */
export async function verifyChains(
  events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  checkArguments(events, options);
  return verifyTrail(events, options, {});
}

/** The option names of `VerifyOptions` (the record's type makes a missing or extra name a compile error). */
const OPTION_NAMES = Object.keys({ publicKeys: 1, expectSealed: 1 } satisfies Record<keyof VerifyOptions, 1>);

/** Refuses what would otherwise fail deep inside with a TypeError, or check nothing it was asked to. */
function checkArguments(events: unknown, options: unknown): void {
  const iterable = (value: object) =>
    typeof (value as Iterable<unknown>)[Symbol.iterator] === "function" ||
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";
  if (typeof events !== "object" || events === null || !iterable(events))
    throw new AuditInputError("verifyChains: `events` must be an iterable or async iterable of AuditEvents");
  if (typeof options !== "object" || options === null)
    throw new AuditInputError("verifyChains: options must be an object");
  rejectUnknownOptions("verifyChains", options, OPTION_NAMES);
  const { publicKeys, expectSealed } = options as VerifyOptions;
  if (publicKeys !== undefined) {
    const entries = publicKeys instanceof Map ? [...publicKeys] : undefined;
    if (
      entries === undefined ||
      entries.some(
        ([id, key]) => typeof id !== "string" || !(key instanceof KeyObject) || key.type !== "public",
      )
    )
      throw new AuditInputError(
        "verifyChains: `publicKeys` must be a Map of key id to public KeyObject (new Map([[keyId, createPublicKey(pem)]]))",
      );
  }
  if (expectSealed !== undefined && typeof expectSealed !== "boolean")
    throw new AuditInputError("verifyChains: `expectSealed` must be a boolean");
}

/** How a source's own rules change what is a finding. @internal */
export interface SourceRules {
  /**
   * The source holds each event once (a store: a unique event id), so an event read twice was put
   * in again from outside: `modified`, not an at-least-once duplicate. Default: false.
   */
  eventsOnce?: boolean;
}

/** `verifyChains` with the source's rules (`grpc-audit verify --db`). @internal */
export async function verifyTrail(
  events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>,
  options: VerifyOptions,
  rules: SourceRules,
): Promise<VerifyReport> {
  const chains = new Map<string, ChainColumns>();
  let count = 0;
  let unchained = 0;
  let firstUnchained = "";
  const keyIds = new Set<string>();
  for await (const event of events) {
    // Else null would end in a TypeError, and 42 would pass as an event without a chain.
    notAnEvent(event, "verifyChains");
    count++;
    const chain = event.chain;
    if (chain === undefined) {
      if (unchained++ === 0) firstUnchained = event.eventId;
      continue;
    }
    const checkpoint = event.detail?.$case === "checkpoint" ? event.detail.value : undefined;
    if (checkpoint !== undefined) keyIds.add(checkpoint.keyId);
    let columns = chains.get(chain.chainId);
    if (columns === undefined) {
      // The first event names the chain's service and instance: a later one that disagrees is no finding.
      columns = new ChainColumns(chain.chainId, event.service, event.instance);
      chains.set(chain.chainId, columns);
    }
    const computed = hashOf(event);
    const seen = columns.indexOf(chain.seq);
    if (seen === -1) {
      columns.add({
        seq: chain.seq,
        eventId: event.eventId,
        hash: chain.hash,
        prevHash: chain.prevHash,
        computed: computed.hash,
        unencodable: computed.problem,
        checkpoint,
        signedHash: checkpoint === undefined ? undefined : signedHashOf(event),
        notCheckpoint: notAsWritten(event, columns.service),
      });
      continue;
    }
    // Read again: the same event (a duplicate), or another one at its seq.
    const seenId = columns.eventId(seen);
    const same =
      seenId === event.eventId &&
      columns.computed(seen) === computed.hash &&
      columns.hash(seen) === chain.hash;
    if (same && rules.eventsOnce !== true) columns.duplicates++;
    else if (same) {
      columns.conflicts.push({
        kind: "modified",
        seq: chain.seq,
        eventId: event.eventId,
        detail: `the store holds the event at seq ${chain.seq} twice, which it never writes (one row per event id): a row put in again`,
      });
    } else {
      columns.conflicts.push({
        kind: "conflict",
        seq: chain.seq,
        eventId: event.eventId,
        detail: `seq ${chain.seq} is held by event ${seenId} and by a different event ${event.eventId}`,
      });
    }
  }
  const reports: ChainReport[] = [...chains.values()].map((entries) => checkChain(entries, options));
  const findings =
    options.expectSealed === true ? trailFindings(reports.length, count, unchained, firstUnchained) : [];
  return {
    ok: findings.length === 0 && reports.every((report) => report.findings.length === 0),
    chains: reports,
    findings,
    events: count,
    unchained,
    unusedKeys: [...(options.publicKeys?.keys() ?? [])].filter((keyId) => !keyIds.has(keyId)),
  };
}

/**
 * What a trail expected to be sealed lacks as a whole: any chain at all (an emptied store, another
 * store, a log without events, Recorders with `chain: false`), or a chain over each of its events.
 */
function trailFindings(
  chains: number,
  events: number,
  unchained: number,
  firstUnchained: string,
): VerifyReport["findings"] {
  if (chains === 0) {
    const held = events === 0 ? "no event" : `${events} event${events === 1 ? "" : "s"}, none in a chain`;
    return [{ kind: "empty", eventId: "", detail: `the trail holds ${held}: nothing was verified` }];
  }
  if (unchained === 0) return [];
  const these = unchained === 1 ? "1 event has" : `${unchained} events have`;
  return [
    {
      kind: "unchained",
      eventId: firstUnchained,
      detail: `${these} no chain: nothing verifies ${unchained === 1 ? "it" : "them"}`,
    },
  ];
}

/**
 * The chain hash of the event as read, or why it has none: an event read from a log line or a store row
 * can hold what no Recorder writes (a fractional or negative number, an invalid time), which the
 * encoder refuses. Such an event is `modified`, not the end of the verification.
 */
function hashOf(event: AuditEvent): { hash: string; problem?: string } {
  try {
    return { hash: chainHash(event) };
  } catch (error) {
    // The encoder's messages name the field's type and the value, never more than a number.
    return { hash: "", problem: error instanceof Error ? error.message : "it cannot be encoded" };
  }
}

/**
 * What a checkpoint event holds that a Recorder never writes into one, or undefined. A v1 signature
 * covers the chain's head only: without this check such a checkpoint's type, actor, target or
 * attributes could be rewritten (its own hash recomputed) and the chain still verify.
 */
function notAsWritten(event: AuditEvent, service: string): string | undefined {
  const isCheckpoint = event.detail?.$case === "checkpoint";
  if (isCheckpoint !== (event.eventType === EventType.EVENT_TYPE_CHAIN_CHECKPOINT)) {
    return isCheckpoint
      ? `the checkpoint event has type ${eventKind(event.eventType)}, which no Recorder gives a checkpoint`
      : "the event has the checkpoint type but holds no checkpoint";
  }
  if (!isCheckpoint) return undefined;
  const { result } = event;
  const fields: [string, boolean][] = [
    ["service", event.service === service],
    ["operation", event.operation === ""],
    ["actor", event.actor === undefined],
    ["target", event.target === undefined],
    ["result", result?.success === true && result.code === "OK" && result.message === ""],
    ["trace id", event.traceId === "" && event.spanId === ""],
    ["request id", event.requestId === ""],
    ["peer", event.peer === ""],
    ["duration", event.duration === undefined],
    ["user agent", event.userAgent === ""],
    ["payload", event.payload === undefined],
    ["attributes", Object.keys(event.attributes).length === 0],
  ];
  const field = fields.find(([, asWritten]) => !asWritten)?.[0];
  return field === undefined
    ? undefined
    : `the checkpoint event's ${field} is not what a Recorder writes into a checkpoint`;
}

/** The hash a v2 checkpoint statement names, or undefined when the event cannot be encoded. */
function signedHashOf(event: AuditEvent): string | undefined {
  try {
    return checkpointEventHash(event);
  } catch {
    return undefined; // reported as unencodable by hashOf
  }
}
