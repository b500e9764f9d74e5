// Events recorded before AuthzDetail.user (field 9) existed: fixtures/old-authz-trail.json holds the
// protobuf bytes of a chained trail of authz decisions and signed checkpoints, written by the
// library as it was before the field (a Recorder with `chain` and a throwaway signing key, whose
// public key the fixture keeps). They must decode with an empty user, encode again to the very same
// bytes and still verify: the field is left out of the canonical encoding when empty.
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canonicalBytes, chainHash } from "../../src/chain/canonical.js";
import { verifyChains } from "../../src/chain/verify.js";
import { decodeEvent, encodeEvent, eventFromJson, eventToJson } from "../../src/event/serialize.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";

const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/old-authz-trail.json", import.meta.url), "utf8"),
) as {
  keyId: string;
  publicKey: string;
  events: string[];
};
const stored = fixture.events.map((base64) => Buffer.from(base64, "base64"));
const publicKeys = new Map([[fixture.keyId, createPublicKey(fixture.publicKey)]]);

/** The authz detail of an event, which must have one. */
function authzOf(event: AuditEvent) {
  if (event.detail?.$case !== "authz") throw new Error(`not an authz event: ${event.detail?.$case}`);
  return event.detail.value;
}

describe("authz events recorded before the user field", () => {
  const events = stored.map((bytes) => decodeEvent(bytes));
  const authz = events.filter((event) => event.detail?.$case === "authz");

  it("decode with an empty user, from protobuf and from JSON", () => {
    expect(authz.map((event) => authzOf(event).decision)).toStrictEqual([
      "AUTHZ_DECISION_ALLOWED",
      "AUTHZ_DECISION_DENIED",
      "AUTHZ_DECISION_ERROR",
      "AUTHZ_DECISION_NO_RULE",
      "AUTHZ_DECISION_DENIED",
    ]);
    for (const event of authz) {
      expect(authzOf(event).user).toBe("");
      const json = eventToJson(event);
      expect(json.authz).not.toHaveProperty("user");
      expect(authzOf(eventFromJson(json)).user).toBe("");
    }
  });

  it("encode to the same bytes and hash to their stored chain hashes", () => {
    for (const [i, event] of events.entries()) {
      expect(Buffer.from(encodeEvent(event)).equals(stored[i] as Buffer)).toBe(true);
      expect(chainHash(event)).toBe(event.chain?.hash);
    }
  });

  it("still verify as a sealed chain with its signed checkpoints", async () => {
    expect(events).toHaveLength(7);
    const report = await verifyChains(events, { publicKeys, expectSealed: true });
    expect(report).toMatchObject({ ok: true, events: 7, unchained: 0 });
    expect(report.chains[0]).toMatchObject({
      events: 7,
      checkpoints: 2,
      verifiedCheckpoints: 2,
      sealed: true,
      findings: [],
    });
  });

  it("hash a user given later as a changed event: the chain covers the field", async () => {
    const [first] = authz;
    if (first === undefined) throw new Error("no authz event");
    const forged: AuditEvent = {
      ...first,
      detail: { $case: "authz", value: { ...authzOf(first), user: "user:mallory" } },
    };
    expect(Buffer.from(canonicalBytes(forged)).equals(Buffer.from(canonicalBytes(first)))).toBe(false);
    const report = await verifyChains(
      events.map((event) => (event === first ? forged : event)),
      { publicKeys, expectSealed: true },
    );
    expect(report.chains[0]?.findings.map(({ kind, eventId }) => ({ kind, eventId }))).toStrictEqual([
      { kind: "modified", eventId: first.eventId },
    ]);
  });
});
