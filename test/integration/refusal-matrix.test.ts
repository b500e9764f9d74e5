// Every way authn or authz refuses a call × every call kind × record_on_error on and off, over real
// loopback gRPC with real signed JWTs: the refusal is recorded once, with the status the client received,
// the handler never runs, and no resource.mutation is recorded (the call changed nothing).
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import type { AuthzRule, AuthzRuleTable } from "../../src/rules/authz-rule.js";
import { createFakeAuthorizer } from "../helpers/fake-authorizer.js";
import { jwtAuthenticatorFor, newSigningKey, type SigningKey, signToken } from "../helpers/jwt.js";
import {
  AUTHZ_RULES_FROM_METADATA,
  CALL_KINDS,
  callOfKind,
  METHOD_OF_KIND,
  type ProjectServer,
  startProjectServer,
  unary,
} from "../helpers/project-server.js";

const METHOD = METHOD_OF_KIND;

/** How a server of the matrix is configured. */
interface Setup {
  recordOnError: boolean;
  /** The four methods may be called without credentials (authz then refuses the anonymous caller). */
  anonymous: boolean;
  /** The four methods have no authz rule (refused as NO_RULE). */
  noAuthzRule: boolean;
}

/** One way to be refused: how the call is made, and what the client and the trail must show. */
interface Refusal {
  name: string;
  setup: Omit<Setup, "recordOnError">;
  token?: "alice" | "bob" | "emptySub" | "starSub" | "garbage";
  /** The object id sent (request field or x-project-id); undefined: none sent. */
  objectId?: string;
  authorizer?: "error" | "hang";
  code: status;
  /** The one event the call leaves: its type and its credential-free reason. */
  event: { type: EventType; reason: string };
}

const PLAIN = { anonymous: false, noAuthzRule: false };
const AUTHN = EventType.EVENT_TYPE_AUTHN_RESULT;
const AUTHZ = EventType.EVENT_TYPE_AUTHZ_DECISION;
const REFUSALS: readonly Refusal[] = [
  {
    name: "authn: no credential",
    setup: PLAIN,
    objectId: "p-1",
    code: status.UNAUTHENTICATED,
    event: { type: AUTHN, reason: "AUTHN_FAILURE_REASON_MISSING" },
  },
  {
    name: "authn: a token that is not a JWT",
    setup: PLAIN,
    token: "garbage",
    objectId: "p-1",
    code: status.UNAUTHENTICATED,
    event: { type: AUTHN, reason: "AUTHN_FAILURE_REASON_MALFORMED" },
  },
  {
    name: "authn: a signed token with an empty sub",
    setup: PLAIN,
    token: "emptySub",
    objectId: "p-1",
    code: status.UNAUTHENTICATED,
    event: { type: AUTHN, reason: "AUTHN_FAILURE_REASON_MALFORMED" },
  },
  {
    name: "authz: anonymous caller",
    setup: { anonymous: true, noAuthzRule: false },
    objectId: "p-1",
    code: status.UNAUTHENTICATED,
    event: { type: AUTHZ, reason: "anonymous" },
  },
  {
    name: "authz: no rule",
    setup: { anonymous: false, noAuthzRule: true },
    token: "alice",
    objectId: "p-1",
    code: status.PERMISSION_DENIED,
    event: { type: AUTHZ, reason: "" },
  },
  {
    name: "authz: denied",
    setup: PLAIN,
    token: "bob",
    objectId: "p-1",
    code: status.PERMISSION_DENIED,
    event: { type: AUTHZ, reason: "" },
  },
  {
    name: "authz: authorizer error",
    setup: PLAIN,
    token: "alice",
    objectId: "p-1",
    authorizer: "error",
    code: status.UNAVAILABLE,
    event: { type: AUTHZ, reason: "unavailable" },
  },
  {
    name: "authz: timeout",
    setup: PLAIN,
    token: "alice",
    objectId: "p-1",
    authorizer: "hang",
    code: status.DEADLINE_EXCEEDED,
    event: { type: AUTHZ, reason: "timeout" },
  },
  {
    name: "authz: missing object id",
    setup: PLAIN,
    token: "alice",
    code: status.INVALID_ARGUMENT,
    event: { type: AUTHZ, reason: "object_id_unresolved" },
  },
  {
    name: "authz: wildcard object id",
    setup: PLAIN,
    token: "alice",
    objectId: "*",
    code: status.INVALID_ARGUMENT,
    event: { type: AUTHZ, reason: "object_id_invalid" },
  },
  {
    name: "authz: object id naming a userset",
    setup: PLAIN,
    token: "alice",
    objectId: "p-1#owner",
    code: status.INVALID_ARGUMENT,
    event: { type: AUTHZ, reason: "object_id_invalid" },
  },
  {
    name: "authz: wildcard subject",
    setup: PLAIN,
    token: "starSub",
    objectId: "p-1",
    code: status.INVALID_ARGUMENT,
    event: { type: AUTHZ, reason: "subject_id_invalid" },
  },
];

describe("a call refused before its handler never yields a resource.mutation", () => {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const fake = createFakeAuthorizer(
    ["owner", "editor", "admin"].map((relation) => `user:alice|${relation}|project:p-1`),
  );
  const servers = new Map<string, ProjectServer>();
  const tokens: Record<string, string> = {};
  let key: SigningKey;

  beforeAll(async () => {
    key = await newSigningKey("k1", "ES256");
    tokens.alice = await signToken(key, { sub: "alice" });
    tokens.bob = await signToken(key, { sub: "bob" });
    tokens.emptySub = await signToken(key, { sub: "" });
    tokens.starSub = await signToken(key, { sub: "*" });
    tokens.garbage = "not-a-jwt";
  });
  async function serverFor(setup: Setup): Promise<ProjectServer> {
    const id = JSON.stringify(setup);
    const running = servers.get(id);
    if (running !== undefined) return running;
    const rules: RuleTable = Object.fromEntries(
      Object.values(METHOD).map((method) => [
        method,
        { ...(auditRules as RuleTable)[method], recordOnError: setup.recordOnError },
      ]),
    );
    const authz: Record<string, AuthzRule> = { ...AUTHZ_RULES_FROM_METADATA };
    if (setup.noAuthzRule) for (const method of Object.values(METHOD)) delete authz[method];
    const server = await startProjectServer(
      createAuditInterceptors({
        recorder,
        rules,
        authn: {
          authenticators: [jwtAuthenticatorFor(key)],
          allowAnonymous: setup.anonymous ? Object.values(METHOD) : [],
        },
        authz: { authorizer: fake.authorizer, rules: authz as AuthzRuleTable, timeoutMs: 100 },
      }),
    );
    servers.set(id, server);
    return server;
  }

  function metadataFor(requestId: string, token: string | undefined, objectId: string | undefined): Metadata {
    const metadata = new Metadata();
    metadata.set("x-request-id", requestId);
    if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
    if (objectId !== undefined) metadata.set("x-project-id", objectId);
    return metadata;
  }

  const eventsOf = (requestId: string): AuditEvent[] => memory.filter((e) => e.requestId === requestId);
  const reasonOf = (event: AuditEvent | undefined): string | undefined =>
    event?.detail?.$case === "authn"
      ? event.detail.value.failureReason
      : event?.detail?.$case === "authz"
        ? event.detail.value.errorReason
        : undefined;

  it.each(
    CALL_KINDS.flatMap((kind) =>
      [true, false].flatMap((recordOnError) =>
        REFUSALS.map((refusal) => ({
          kind,
          recordOnError,
          refusal,
          title: `${kind}, record_on_error ${recordOnError}, ${refusal.name}`,
        })),
      ),
    ),
  )("$title", async ({ kind, recordOnError, refusal }) => {
    const server = await serverFor({ recordOnError, ...refusal.setup });
    fake.state.mode = refusal.authorizer ?? "normal";
    const requestId = `req-${kind}-${recordOnError}-${REFUSALS.indexOf(refusal)}`;
    const token = refusal.token === undefined ? undefined : tokens[refusal.token];
    const checksBefore = fake.state.checks.length;
    try {
      const { code } = await callOfKind(
        server.client,
        kind,
        metadataFor(requestId, token, refusal.objectId),
        refusal.objectId ?? "",
      );
      expect(code).toBe(refusal.code);
    } finally {
      fake.state.mode = "normal";
    }
    // The server has seen the call end (onCancel follows every call) once a later call on the same
    // connection has been answered; a wrong mutation event would have been recorded by then.
    await unary(
      server.client.getProject.bind(server.client),
      { id: "p-1" },
      metadataFor("probe", tokens.alice, undefined),
    );
    // An authz refusal follows the caller's successful authn; nothing else is recorded for the call.
    const expected = [[refusal.event.type, refusal.event.reason, status[refusal.code]]];
    if (refusal.event.type === AUTHZ && refusal.token !== undefined) {
      expected.unshift([AUTHN, "AUTHN_FAILURE_REASON_UNSPECIFIED", "OK"]);
    }
    expect(eventsOf(requestId).map((e) => [e.eventType, reasonOf(e), e.result?.code])).toStrictEqual(
      expected,
    );
    if (refusal.code === status.INVALID_ARGUMENT) expect(fake.state.checks.length).toBe(checksBefore); // never sent
    expect(server.seenScopes.filter((scope) => scope?.requestId === requestId)).toStrictEqual([]);
  });

  it.each(CALL_KINDS.flatMap((kind) => [true, false].map((recordOnError) => ({ kind, recordOnError }))))(
    "control: an allowed $kind call (record_on_error $recordOnError) records its mutation once",
    async ({ kind, recordOnError }) => {
      const server = await serverFor({ recordOnError, ...PLAIN });
      const requestId = `ok-${kind}-${recordOnError}`;
      const { code } = await callOfKind(server.client, kind, metadataFor(requestId, tokens.alice, "p-1"));
      expect(code).toBe(status.OK);
      await unary(
        server.client.getProject.bind(server.client),
        { id: "p-1" },
        metadataFor("probe", tokens.alice, undefined),
      );
      const mutations = eventsOf(requestId).filter(
        (e) => e.eventType === EventType.EVENT_TYPE_RESOURCE_MUTATION,
      );
      expect(mutations.map((e) => [e.operation, e.result?.code])).toStrictEqual([[METHOD[kind], "OK"]]);
    },
  );

  afterAll(async () => {
    // Once every server has shut down, every call's onCancel has run: still no mutation for a refusal.
    await Promise.all([...servers.values()].map((server) => server.close()));
    servers.clear();
    const refused = memory.filter(
      (e) => e.requestId.startsWith("req-") && e.eventType === EventType.EVENT_TYPE_RESOURCE_MUTATION,
    );
    expect(refused).toStrictEqual([]);
    // Every refusal settled what it owed the Recorder: its close() would not wait.
    expect(recorder.stats().pendingRecords).toBe(0);
  });
});
