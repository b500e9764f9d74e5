// A call that ends while its credential or its authz check is being decided, over real loopback gRPC:
// the client cancels, or its deadline passes, while an authenticator or the authorizer has not
// answered. Such a call never reaches its handler, so no mutation event is recorded; the authn result
// and authz decision written once they answer are its only record. They must carry the status the
// client got (CANCELLED, DEADLINE_EXCEEDED), as every refusal does: they used to say OK, an accepted
// credential and an allowed check of a call that went on, for a call that never ran.
import {
  type CallOptions,
  credentials,
  Metadata,
  ResponderBuilder,
  Server,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import type { Authenticator, AuthnOutcome } from "../../src/authn/authenticator.js";
import type { Authorizer, Decision } from "../../src/authz/authorizer.js";
import { ProjectServiceClient, ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { type AuditEvent, AuthzDecision, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createOpenFgaAuthorizer } from "../../src/openfga/openfga-authorizer.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { type HeldDeadline, holdDeadline } from "../helpers/held-deadline.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";
import { type OpenFgaStandIn, standInClient, startOpenFgaStandIn } from "../helpers/openfga-stand-in.js";
import { AUTHZ_RULES_FROM_METADATA, CALL_KINDS, type CallKind } from "../helpers/project-server.js";

let cleanup: (() => void) | undefined;
let closeStandIn: (() => Promise<void>) | undefined;
afterEach(async () => {
  cleanup?.();
  cleanup = undefined;
  await closeStandIn?.();
  closeStandIn = undefined;
});

type Phase = "authn" | "authz";

/**
 * An authenticator naming alice and an authorizer allowing her; the one of phase `held` answers only
 * when the test calls the answer it left in `answers`, the other at once.
 */
function heldChecks(held: Phase) {
  const answers: (() => void)[] = [];
  const authenticated: AuthnOutcome = { kind: "authenticated", actor: { id: "alice" } };
  const alice: Authenticator = {
    method: "test",
    authenticate: () =>
      held === "authn"
        ? new Promise<AuthnOutcome>((resolve) => answers.push(() => resolve(authenticated)))
        : authenticated,
  };
  const allowed: Decision = { kind: "allowed", cacheHit: false };
  const authorizer: Authorizer = {
    check: () =>
      held === "authz"
        ? new Promise<Decision>((resolve) => answers.push(() => resolve(allowed)))
        : Promise.resolve(allowed),
    batchCheck: async () => [],
  };
  return { alice, authorizer, answers };
}

/** The authorizer (and its `timeoutMs`) to use instead of the held one of `heldChecks`. */
type OwnAuthz = { authorizer: Authorizer; timeoutMs: number };

async function start(held: Phase, own?: OwnAuthz) {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const checks = heldChecks(held);
  const { alice, answers } = checks;
  const authorizer = own?.authorizer ?? checks.authorizer;
  // After the audit chain: tells the test when the server has seen the call end (the client's own
  // status comes before that, as the client ends the call on its side at once).
  let serverSawEnd = 0;
  const endWatcher: ServerInterceptor = (_method, call) =>
    new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) =>
          next(
            new ServerListenerBuilder()
              .withOnCancel(() => {
                serverSawEnd++;
              })
              .build(),
          ),
        )
        .build(),
    );
  const server = new Server({
    interceptors: [
      ...createAuditInterceptors({
        recorder,
        rules: auditRules,
        authn: { authenticators: [alice] },
        authz: {
          authorizer,
          rules: AUTHZ_RULES_FROM_METADATA,
          ...(own === undefined ? {} : { timeoutMs: own.timeoutMs }),
        },
      }),
      endWatcher,
    ],
  });
  let handlers = 0;
  const ran = () => {
    handlers++;
  };
  server.addService(ProjectServiceService, {
    deleteProject: ran,
    archiveProject: ran,
    importMembers: ran,
    syncMembers: ran,
  } as never);
  const port = await listenOnLoopback(server);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  cleanup = () => {
    client.close();
    server.forceShutdown();
  };
  return {
    memory,
    recorder,
    client,
    answers,
    handlersRun: () => handlers,
    serverSawEnd: () => serverSawEnd,
  };
}

/** Starts a call of `kind` on project p-1; the client half-closes unary and server-streaming calls only. */
function startCall(client: ProjectServiceClient, kind: CallKind, options: Partial<CallOptions>) {
  const metadata = new Metadata();
  metadata.set("x-project-id", "p-1");
  const call =
    kind === "unary"
      ? client.deleteProject({ id: "p-1" }, metadata, options, () => {})
      : kind === "server_streaming"
        ? client.archiveProject({ projectId: "p-1" }, metadata, options)
        : kind === "client_streaming"
          ? client.importMembers(metadata, options, () => {})
          : client.syncMembers(metadata, options);
  const ended = new Promise<StatusObject>((resolve) => {
    call.on("data", () => {});
    call.on("error", () => {}); // the status says how it ended
    // In the turn the client saw its status: the held clock reaches the deadline before the server
    // reads the client's reset (see holdDeadline).
    call.on("status", (end: StatusObject) => {
      if (options.deadline !== undefined) held?.passed();
      resolve(end);
    });
  });
  return { call, ended };
}

/** The held clock of the test's deadline call (see optionsFor), given back after the test. */
let held: HeldDeadline | undefined;
afterEach(() => {
  held?.release();
  held = undefined;
});

/**
 * The call options of an ending: none for a cancel; for a deadline, a deadline the server reads as
 * the client's, HELD_DEADLINE_MS away (as every first call of a new connection gets). 300 ms on the
 * real clock lost to a loaded machine: the check was asked after the deadline had passed, or the
 * server, reading the call late, took the client's reset at its deadline for a cancel.
 */
function optionsFor(how: "cancel" | "deadline"): Partial<CallOptions> {
  if (how === "cancel") return {};
  held = holdDeadline();
  return { deadline: held.deadline };
}

describe("a call that ends while authn or authz waits for an answer", () => {
  const endings = [
    ["the client cancels", "cancel", status.CANCELLED, "CANCELLED"],
    ["its deadline passes", "deadline", status.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"],
  ] as const;
  const phases: Phase[] = ["authn", "authz"];
  const cases = phases.flatMap((phase) =>
    CALL_KINDS.flatMap((kind) => endings.map((ending) => [phase, kind, ...ending] as const)),
  );

  it.each(cases)(
    "%s waits, %s call, %s: recorded once, with the status the client got",
    async (phase, kind, _name, how, expected, codeName) => {
      const s = await start(phase);
      const { call, ended } = startCall(s.client, kind, optionsFor(how));
      await expect.poll(() => s.answers.length).toBe(1);
      if (how === "cancel") call.cancel();
      expect((await ended).code).toBe(expected);
      await expect.poll(() => s.serverSawEnd()).toBe(1);

      // The authenticator or authorizer answers only now: the call is over, its handler never ran.
      s.answers[0]?.();
      const last =
        phase === "authn" ? EventType.EVENT_TYPE_AUTHN_RESULT : EventType.EVENT_TYPE_AUTHZ_DECISION;
      await s.memory.waitFor({ eventType: last });
      expect(s.handlersRun()).toBe(0);
      const seen = s.memory.events.map((e) => [
        e.eventType,
        e.detail?.$case === "authn" ? e.detail.value.success : undefined,
        e.detail?.$case === "authz" ? e.detail.value.decision : undefined,
        e.result?.success,
        e.result?.code,
      ]);
      // The credential was accepted and the check allowed: the result is how the call ended.
      const authn = [EventType.EVENT_TYPE_AUTHN_RESULT, true, undefined];
      const authz = [EventType.EVENT_TYPE_AUTHZ_DECISION, undefined, AuthzDecision.AUTHZ_DECISION_ALLOWED];
      expect(seen).toStrictEqual(
        phase === "authn"
          ? [[...authn, false, codeName]] // the call ended before authz: no decision
          : [
              [...authn, true, "OK"],
              [...authz, false, codeName],
            ],
      );
      // The answer was the last record the call owed: recorder.close() would not wait for it.
      await expect.poll(() => s.recorder.stats().pendingRecords).toBe(0);
    },
  );
});

// The OpenFGA authorizer over the real @openfga/sdk client, against the OpenFGA HTTP stand-in (no
// OpenFGA server can run here), which holds the check unanswered. The call's end must cancel the
// check's HTTP request at once: it used to run until the interceptor's `timeoutMs`, holding a socket and
// a promise for a call nobody waited for. `timeoutMs` (and the SDK's own HTTP timeout) are set far
// beyond the test's own timeout, so the stand-in can only see the request closed because the call ended.
describe("a call that ends while the OpenFGA authorizer waits for its check", () => {
  const endings = [
    ["the client cancels", "cancel", status.CANCELLED, "CANCELLED"],
    ["its deadline passes", "deadline", status.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"],
  ] as const;

  async function startWithStandIn() {
    const standIn: OpenFgaStandIn = await startOpenFgaStandIn({
      tuples: [{ user: "user:alice", relation: "owner", object: "project:p-1" }],
    });
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    closeStandIn = async () => {
      release();
      await standIn.close();
    };
    standIn.inject({ endpoint: "check", hold, times: 1 });
    // With the cache on: an abandoned check must not become a cached decision.
    // The SDK's own HTTP timeout (10 s by default) is lifted too: only the call's end may close the request.
    const client = standInClient(standIn, { baseOptions: { timeout: 600_000 } });
    const authorizer = createOpenFgaAuthorizer({ client, cache: { ttlMs: 60_000 } });
    const s = await start("authz", { authorizer, timeoutMs: 600_000 });
    return { s, standIn };
  }

  const authzOf = (event: AuditEvent | undefined) =>
    event?.detail?.$case === "authz"
      ? [
          event.detail.value.decision,
          event.detail.value.errorReason,
          event.detail.value.cacheHit,
          event.result?.success,
          event.result?.code,
        ]
      : undefined;

  it.each(endings)(
    "%s: the check's HTTP request is closed before timeoutMs; one authz event, with the client's status",
    async (_name, how, expected, codeName) => {
      const { s, standIn } = await startWithStandIn();
      const order: string[] = [];
      const { call, ended } = startCall(s.client, "unary", optionsFor(how));
      await expect.poll(() => standIn.counts.check).toBe(1);
      if (how === "cancel") call.cancel();
      expect((await ended).code).toBe(expected);
      order.push(`client got ${codeName}`);
      await expect.poll(() => standIn.abandoned, { timeout: 10_000 }).toBe(1);
      order.push("stand-in saw the check's request closed");
      const decision = await s.memory.waitFor({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION });
      order.push("authz decision recorded");
      expect(order).toStrictEqual([
        `client got ${codeName}`,
        "stand-in saw the check's request closed",
        "authz decision recorded",
      ]);
      // As when `timeoutMs` aborted it: the check had no answer, and the result is the client's status.
      expect(authzOf(decision)).toStrictEqual([
        AuthzDecision.AUTHZ_DECISION_ERROR,
        "timeout",
        false,
        false,
        codeName,
      ]);
      await expect.poll(() => s.recorder.stats().pendingRecords).toBe(0);
      expect(s.handlersRun()).toBe(0);
      expect(s.memory.events.filter((e) => e.eventType === EventType.EVENT_TYPE_AUTHZ_DECISION)).toHaveLength(
        1,
      );

      // The next call asks OpenFGA again (nothing was cached from the abandoned check) and is allowed
      // (its handler, which never answers, then runs: the test cancels it).
      s.memory.clear();
      const next = startCall(s.client, "unary", {});
      const allowed = await s.memory.waitFor({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION });
      expect(authzOf(allowed)).toStrictEqual([AuthzDecision.AUTHZ_DECISION_ALLOWED, "", false, true, "OK"]);
      expect(standIn.counts.check).toBe(2);
      await expect.poll(() => s.handlersRun()).toBe(1);
      next.call.cancel();
      expect((await next.ended).code).toBe(status.CANCELLED);
    },
  );
});

// An authorizer of your own that hands the check's signal to its I/O (as `fetch(url, { signal })`
// does) rejects once the call's end aborts it. That rejection is the abort, not an outage of the
// authorizer: it is recorded `timeout`, as the OpenFGA authorizer records it, never `unavailable`.
describe("a call that ends while an authorizer of your own, honouring the signal, waits", () => {
  it.each([
    ["the client cancels", "cancel", status.CANCELLED, "CANCELLED"],
    ["its deadline passes", "deadline", status.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"],
  ] as const)(
    "%s: recorded ERROR timeout with the client's status",
    async (_name, how, expected, codeName) => {
      let asked = 0;
      const authorizer: Authorizer = {
        check: (_request, options) =>
          new Promise<Decision>((_resolve, reject) => {
            asked++;
            options?.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true });
          }),
        batchCheck: async () => [],
      };
      const s = await start("authz", { authorizer, timeoutMs: 600_000 });
      const { call, ended } = startCall(s.client, "unary", optionsFor(how));
      await expect.poll(() => asked).toBe(1);
      if (how === "cancel") call.cancel();
      expect((await ended).code).toBe(expected);
      const decision = await s.memory.waitFor({ eventType: EventType.EVENT_TYPE_AUTHZ_DECISION });
      const authz = decision.detail?.$case === "authz" ? decision.detail.value : undefined;
      expect([authz?.decision, authz?.errorReason, decision.result?.code]).toStrictEqual([
        AuthzDecision.AUTHZ_DECISION_ERROR,
        "timeout",
        codeName,
      ]);
      expect(s.handlersRun()).toBe(0);
    },
  );
});
