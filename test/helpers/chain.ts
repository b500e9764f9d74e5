/**
 * Events from real Recorders carry `chain` (a random chain id and hashes over the whole event): tests
 * that compare whole events check its form here and compare the rest, instead of expecting random values.
 */
import { expect } from "vitest";
import { chainHash } from "../../src/chain/canonical.js";
import { eventFromJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Checks the `chain` of each event: a UUIDv4 chain id, a seq ≥ 1, a hash that is the SHA-256 of the
 * event's canonical encoding, a prevHash that is 64 hex digits ("" at seq 1) and, when the event
 * before it in the list is its predecessor in the same chain, that predecessor's hash. Returns copies
 * with `chain` unset.
 */
export function withoutChain<T extends AuditEvent>(events: readonly T[]): T[] {
  let previous: AuditEvent | undefined;
  return events.map((event) => {
    const chain = event.chain;
    expect(chain, `event ${event.eventId} has no chain`).toBeDefined();
    if (chain === undefined) return event;
    expect(chain.chainId).toMatch(UUID);
    expect(Number.isSafeInteger(chain.seq) && chain.seq >= 1).toBe(true);
    expect(chain.hash).toBe(chainHash(event));
    if (chain.seq === 1) expect(chain.prevHash).toBe("");
    else expect(chain.prevHash).toMatch(SHA256_HEX);
    const before = previous?.chain;
    if (before?.chainId === chain.chainId && before.seq + 1 === chain.seq) {
      expect(chain.prevHash).toBe(before.hash);
    }
    previous = event;
    return { ...event, chain: undefined };
  });
}

/** `withoutChain` for one event. */
export function withoutChainOne<T extends AuditEvent>(event: T | undefined): T | undefined {
  return event === undefined ? undefined : withoutChain([event])[0];
}

/**
 * `withoutChain` for events in proto3 JSON (log lines, JSON broker messages): checks the chain of
 * each as read back, and returns the JSON objects without their `chain` key.
 */
export function withoutChainJson(events: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  withoutChain(events.map(eventFromJson));
  return events.map(({ chain: _chain, ...rest }) => rest);
}
