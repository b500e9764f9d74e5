// The record policy's summaries over real loopback gRPC, into a real SQLite store through the delivery
// pipeline: with "failures" for authn, authz and access, and a summary timer short enough to fire
// between calls, the store's `record.summary` events summed per (kind, actor, method) give exactly
// the Recorder's `stats().skipped`, and the stored chain, summaries and final checkpoint included, verifies.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createDeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { openAuditStore } from "../../src/store/audit-store.js";
import { KEY_ID, PUBLIC_KEYS, SIGNING_KEY } from "../chain/trail.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import {
  AUTHZ_RULES_FROM_METADATA,
  CALL_KINDS,
  callOfKind,
  type ProjectServer,
  startProjectServer,
} from "../helpers/project-server.js";

const CALLERS = [
  { token: "alice", code: status.OK }, // three successes, all counted
  { token: "bob", code: status.PERMISSION_DENIED }, // authn counted, the denial recorded
  { token: undefined, code: status.UNAUTHENTICATED }, // the refusal recorded
] as const;
const ROUNDS = 5;

describe("record.summary events over real gRPC into a SQLite store", () => {
  const storePath = join(mkdtempSync(join(tmpdir(), "grpc-audit-summary-")), "audit.db");
  const errors: Error[] = [];
  const recorder = createRecorder({
    service: "projects",
    emitters: [createDeliveryEmitter({ sink: openAuditStore({ path: storePath }).sink() })],
    record: { "authn.result": "failures", "authz.decision": "failures", "resource.access": "failures" },
    // Short, so windows end while calls run; the sums hold however many windows there were.
    summaryEveryMs: 5,
    chain: { signingKey: SIGNING_KEY, keyId: KEY_ID },
    onError: (error) => errors.push(error),
  });
  const fake = createFakeAuthorizer(["owner", "editor", "admin"].map((r) => `user:alice|${r}|project:p-1`));
  const tokens: Record<string, string> = {};
  let server: ProjectServer;

  beforeAll(async () => {
    const key = await newSigningKey("k1", "ES256");
    tokens.alice = await signToken(key, { sub: "alice" });
    tokens.bob = await signToken(key, { sub: "bob" });
    // Every audited method records a read, so all three skippable kinds are counted.
    const rules = Object.fromEntries(
      Object.entries(auditRules as RuleTable).map(([method, rule]) => [
        method,
        { ...rule, event: "access" } as AuditRule,
      ]),
    ) as RuleTable;
    server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules,
        authn: { authenticators: [jwtAuthenticatorFor(key)] },
        authz: {
          authorizer: fake.authorizer,
          rules: AUTHZ_RULES_FROM_METADATA,
        },
      }),
    );
  });
  afterAll(() => server.close());

  it("sums to stats().skipped, and the stored chain verifies", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of CALL_KINDS) {
        for (const caller of CALLERS) {
          const metadata = new Metadata();
          metadata.set("x-project-id", "p-1");
          if (caller.token !== undefined) metadata.set("authorization", `Bearer ${tokens[caller.token]}`);
          const { code } = await callOfKind(server.client, kind, metadata, "p-1");
          expect(code, `${caller.token ?? "no credential"} ${kind}`).toBe(caller.code);
        }
        // Let the summary timer run between calls.
        await new Promise((resolve) => setTimeout(resolve, 6));
      }
    }
    await recorder.close();
    const stats = recorder.stats();
    expect(errors).toStrictEqual([]);

    const store = openAuditStore({ path: storePath, readonly: true });
    const page = store.query({}, { limit: 1000 });
    const summaries = store.query({ type: "record.summary" }, { limit: 1000 });
    store.close();
    expect(page.nextCursor).toBeUndefined();
    const stored: AuditEvent[] = page.events.reverse(); // oldest first
    expect(stored).toHaveLength(stats.accepted);

    const totals = new Map<string, number>();
    let overflow = 0;
    for (const event of summaries.events) {
      expect(event.eventType).toBe(EventType.EVENT_TYPE_RECORD_SUMMARY);
      if (event.detail?.$case !== "recordSummary") throw new Error("a summary without its detail");
      overflow += event.detail.value.overflow;
      for (const c of event.detail.value.counts) {
        const key = `${c.kind} ${c.actorId} ${c.operation}`;
        totals.set(key, (totals.get(key) ?? 0) + c.count);
      }
    }
    const expected = new Map(
      stats.skipped.counts.map((c) => [`${c.kind} ${c.actor} ${c.operation}`, c.count]),
    );
    expect(totals).toStrictEqual(expected);
    expect(overflow).toBe(stats.skipped.overflow);
    // 5 rounds × 4 methods: alice's 3 successes and bob's accepted credential each time.
    expect([...totals.values()].reduce((a, b) => a + b, 0)).toBe(ROUNDS * CALL_KINDS.length * 4);
    expect(stats.recorded["record.summary"]).toBe(summaries.events.length);

    // Summaries are chained like any event: the chain has no gap and ends with the final checkpoint.
    expect(summaries.events.length).toBeGreaterThan(0);
    expect(stored.at(-1)?.detail).toMatchObject({ $case: "checkpoint", value: { final: true } });
    const report = await verifyChains(stored, { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect(report.ok).toBe(true);
  });
});
