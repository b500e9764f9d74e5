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
  ServerCredentials,
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
import { AuthzDecision, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { AUTHZ_RULES_FROM_METADATA, CALL_KINDS, type CallKind } from "../helpers/project-server.js";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
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

async function start(held: Phase) {
  const memory = createMemoryEmitter();
  const recorder = createRecorder({ service: "projects", emitters: [memory] });
  const { alice, authorizer, answers } = heldChecks(held);
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
        authz: { authorizer, rules: AUTHZ_RULES_FROM_METADATA },
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
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
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
    call.on("status", resolve);
  });
  return { call, ended };
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
      const { call, ended } = startCall(
        s.client,
        kind,
        how === "deadline" ? { deadline: Date.now() + 300 } : {},
      );
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
