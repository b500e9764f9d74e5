// The record policy over real loopback gRPC, with real signed JWTs and the full interceptor chain:
// for every policy and both kinds of rule (mutation, access), every call kind made by an allowed
// caller, a denied one, one without a credential, one whose authorization fails and one whose handler
// fails: each call's trail holds exactly the events its policy keeps, every refusal among them; the
// skipped successes are counted exactly per kind, actor and method; the chain verifies without a gap.
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import type { RecordPolicy } from "../../src/recorder/record-policy.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { SkippableKind, SkippedCount } from "../../src/recorder/skip-counts.js";
import type { AuditRule, RuleTable } from "../../src/rules/audit-rule.js";
import { withoutChain } from "../helpers/chain.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import {
  AUTHZ_RULES_FROM_METADATA,
  CALL_KINDS,
  type CallKind,
  callOfKind,
  METHOD_OF_KIND,
  type ProjectServer,
  startProjectServer,
} from "../helpers/project-server.js";

const METHOD = METHOD_OF_KIND;
const POLICIES: { name: string; record: RecordPolicy | undefined }[] = [
  { name: "default", record: undefined },
  {
    name: "all, said for every kind",
    record: {
      "authn.result": "all",
      "authz.decision": "all",
      "resource.access": "all",
      "resource.mutation": "all",
      "tuple.change": "all",
    },
  },
  { name: "authn failures", record: { "authn.result": "failures" } },
  { name: "authz failures", record: { "authz.decision": "failures" } },
  { name: "access failures", record: { "resource.access": "failures" } },
  {
    name: "failures for authn, authz and access",
    record: { "authn.result": "failures", "authz.decision": "failures", "resource.access": "failures" },
  },
];

/** One way a call goes: who makes it, on which project, and what the trail of a default policy holds. */
interface Caller {
  name: string;
  token: "alice" | "bob" | undefined;
  objectId: string;
  authorizer?: "error";
  code: status;
  /** The events of the call under policy "all": kind and whether it is a success. */
  events: [SkippableKind | "resource", boolean][];
  /** Only for this call kind (the example's handler that can fail is ArchiveProject). */
  only?: CallKind;
}

const CALLERS: readonly Caller[] = [
  {
    name: "allowed",
    token: "alice",
    objectId: "p-1",
    code: status.OK,
    events: [
      ["authn.result", true],
      ["authz.decision", true],
      ["resource", true],
    ],
  },
  {
    name: "denied",
    token: "bob",
    objectId: "p-1",
    code: status.PERMISSION_DENIED,
    events: [
      ["authn.result", true],
      ["authz.decision", false],
    ],
  },
  {
    name: "no credential",
    token: undefined,
    objectId: "p-1",
    code: status.UNAUTHENTICATED,
    events: [["authn.result", false]],
  },
  {
    name: "authorizer error",
    token: "alice",
    objectId: "p-1",
    authorizer: "error",
    code: status.UNAVAILABLE,
    events: [
      ["authn.result", true],
      ["authz.decision", false],
    ],
  },
  {
    name: "handler fails",
    token: "alice",
    objectId: "boom",
    code: status.FAILED_PRECONDITION,
    only: "server_streaming",
    events: [
      ["authn.result", true],
      ["authz.decision", true],
      ["resource", false],
    ],
  },
];

describe.each(
  POLICIES.flatMap((policy) => (["mutation", "access"] as const).map((event) => ({ ...policy, event }))),
)("record policy $name, $event rules, over real gRPC", ({ record, event }) => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory], ...(record && { record }) });
  const fake = createFakeAuthorizer(
    ["p-1", "boom"].flatMap((p) => ["owner", "editor", "admin"].map((r) => `user:alice|${r}|project:${p}`)),
  );
  const tokens: Record<string, string> = {};
  let server: ProjectServer;

  beforeAll(async () => {
    const key = await newSigningKey("k1", "ES256");
    tokens.alice = await signToken(key, { sub: "alice" });
    tokens.bob = await signToken(key, { sub: "bob" });
    const rules = Object.fromEntries(
      Object.values(METHOD).map((method) => {
        const rule: AuditRule = { ...(auditRules as RuleTable)[method], recordOnError: true } as AuditRule;
        return [method, event === "access" ? { ...rule, event: "access" } : rule];
      }),
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

  /** Whether the policy records an event of `kind` with this outcome. */
  const kept = (kind: SkippableKind | "resource", success: boolean): boolean => {
    if (kind === "resource")
      return event === "mutation" || !success || record?.["resource.access"] !== "failures";
    return !success || record?.[kind] !== "failures";
  };

  it("keeps each call's events as its policy says, counts the rest exactly, and the chain verifies", async () => {
    const skipped = new Map<string, SkippedCount>();
    for (const kind of CALL_KINDS) {
      for (const caller of CALLERS) {
        if (caller.only !== undefined && caller.only !== kind) continue;
        const requestId = `${caller.name.replaceAll(" ", "-")}-${kind}`;
        const metadata = new Metadata();
        metadata.set("x-request-id", requestId);
        metadata.set("x-project-id", caller.objectId);
        const token = caller.token === undefined ? undefined : tokens[caller.token];
        if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
        fake.state.mode = caller.authorizer ?? "normal";
        const { code } = await callOfKind(server.client, kind, metadata, caller.objectId);
        fake.state.mode = "normal";
        expect(code, requestId).toBe(caller.code);

        // Every event of a call is recorded before its status leaves the server.
        const expected: [string, boolean][] = [];
        for (const [eventKind, success] of caller.events) {
          const name = eventKind === "resource" ? `resource.${event}` : eventKind;
          if (kept(eventKind, success)) {
            expected.push([name, success]);
            continue;
          }
          const actor = caller.token === undefined ? "anonymous" : caller.token;
          const key = `${name} ${actor} ${METHOD[kind]}`;
          const count = skipped.get(key);
          if (count === undefined) {
            skipped.set(key, { kind: name as SkippableKind, actor, operation: METHOD[kind], count: 1 });
          } else count.count++;
        }
        const trail = memory.filter((e) => e.requestId === requestId);
        expect(
          trail.map((e) => [KIND_OF_CASE[e.detail?.$case ?? ""], e.result?.success]),
          requestId,
        ).toStrictEqual(expected);
      }
    }

    const stats = recorder.stats();
    const byKind = { "authn.result": 0, "authz.decision": 0, "resource.access": 0 };
    for (const { kind, count } of skipped.values()) byKind[kind] += count;
    expect(stats.skipped).toStrictEqual({ byKind, counts: [...skipped.values()], overflow: 0 });
    expect(stats).toMatchObject({ accepted: memory.events.length, dropped: 0, failed: 0, invalid: 0 });
    // Skipped events took no seq: the recorded ones are 1..n, linked one to the next, and verify.
    withoutChain(memory.events);
    expect(memory.events.map((e) => e.chain?.seq)).toStrictEqual(memory.events.map((_, i) => i + 1));
    expect((await verifyChains(memory.events)).ok).toBe(true);
  });
});

const KIND_OF_CASE: Record<string, string> = {
  authn: "authn.result",
  authz: "authz.decision",
  resourceMutation: "resource.mutation",
  resourceAccess: "resource.access",
};
