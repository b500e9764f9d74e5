import {
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  status as Status,
} from "@grpc/grpc-js";
import { AuditConfigError } from "../errors/index.js";
import type { Actor } from "../gen/grpcaudit/v1/event.js";
import { currentAuditScope } from "../recorder/scope.js";
import type { Authorizer, Decision } from "./authorizer.js";
import type { AuthzCheck, AuthzObserver } from "./observer.js";
import type { AuthzRule, AuthzRuleTable } from "./rule.js";
import { mergeAuthzRuleTables } from "./rule-table.js";

/** Options of `createAuthzInterceptor`. */
export interface AuthzInterceptorOptions {
  /** Answers the checks (such as the OpenFGA authorizer from `grpc-audit/openfga`). */
  authorizer: Authorizer;
  /** Generated authz rule tables (`authzRules` of each `_audit.ts` file); merged by method path. */
  rules: AuthzRuleTable | readonly AuthzRuleTable[];
  /** Told about every decision and refusal (use `recorder.authzObserver()`). Default: none. */
  observer?: AuthzObserver;
  /**
   * Default "deny": a method without an authz rule is refused with PERMISSION_DENIED and reported as
   * NO_RULE (fail-closed). "allow": it is let through and reported as NO_RULE with status OK.
   */
  missingRule?: "deny" | "allow";
  /** The OpenFGA user of an actor. Default: `user:<actor id>`. */
  toUser?: (actor: Actor) => string;
  /** How long one check may take; then the call fails with DEADLINE_EXCEEDED. Default: 2000. */
  timeoutMs?: number;
}

/** Status messages of authz refusals: fixed, so nothing about the object or the engine leaks. */
export const AUTHZ_MESSAGES = {
  noRule: "permission denied: no authorization rule",
  anonymous: "unauthenticated: authorization needs a caller",
  unresolved: "invalid argument: object id missing",
  denied: "permission denied",
  timeout: "authorization timed out",
  unavailable: "authorization unavailable",
} as const;

/**
 * Checks every call against its method's authz rule before the handler runs, and reports every
 * outcome to the observer — also the refusals made without asking the authorizer: no rule
 * (PERMISSION_DENIED unless `missingRule: "allow"`), anonymous caller (UNAUTHENTICATED), object id
 * that cannot be resolved (INVALID_ARGUMENT), authorizer error (UNAVAILABLE) or timeout
 * (DEADLINE_EXCEEDED). An engine error is never reported as a deny. Object ids from request paths are
 * read from the first message (unary and server-streaming methods); from metadata or fixed otherwise.
 * Place it after the authn interceptor (`createAuditInterceptors` does).
 */
export function createAuthzInterceptor(options: AuthzInterceptorOptions): ServerInterceptor {
  const config = resolveOptions(options);
  const { authorizer, observer, rules } = config;
  const report = (check: AuthzCheck) => {
    try {
      observer?.(check);
    } catch {
      // An observer must not decide the call.
    }
  };
  const fromAuthorizer = {
    ...(authorizer.storeId ? { storeId: authorizer.storeId } : {}),
    ...(authorizer.modelId ? { modelId: authorizer.modelId } : {}),
  };

  /**
   * Decides one call: undefined when it may proceed, else the status to end it with. Synchronous for
   * the refusals made without the authorizer and for a decision the authorizer has cached.
   */
  function decide(rule: AuthzRule, objectId: string): Refusal | undefined | Promise<Refusal | undefined> {
    const base = { relation: rule.relation, objectType: rule.objectType, objectId, ...fromAuthorizer };
    const actor = currentAuditScope()?.actor;
    if (actor === undefined) {
      report({ ...base, allowed: false, reason: "anonymous", statusCode: Status.UNAUTHENTICATED });
      return { code: Status.UNAUTHENTICATED, details: AUTHZ_MESSAGES.anonymous };
    }
    if (objectId === "") {
      report({
        ...base,
        allowed: false,
        error: "unresolved",
        reason: "object_id_unresolved",
        statusCode: Status.INVALID_ARGUMENT,
      });
      return { code: Status.INVALID_ARGUMENT, details: AUTHZ_MESSAGES.unresolved };
    }
    const request = {
      user: config.toUser(actor),
      relation: rule.relation,
      object: `${rule.objectType}:${objectId}`,
    };
    let cached: Decision | undefined;
    try {
      cached = authorizer.cached?.(request);
    } catch (error) {
      cached = { kind: "error", reason: "unavailable", error };
    }
    if (cached !== undefined) return conclude(base, cached);
    return checkWithTimeout(request).then((decision) => conclude(base, decision));
  }

  /** Reports the authorizer's decision; the status to end the call with, or undefined to proceed. */
  function conclude(base: AuthzCheckBase, decision: Decision): Refusal | undefined {
    if (decision.kind === "error") {
      const timedOut = decision.reason === "timeout";
      const code = timedOut ? Status.DEADLINE_EXCEEDED : Status.UNAVAILABLE;
      report({
        ...base,
        allowed: false,
        error: decision.error ?? decision.reason,
        reason: decision.reason,
        statusCode: code,
      });
      return { code, details: timedOut ? AUTHZ_MESSAGES.timeout : AUTHZ_MESSAGES.unavailable };
    }
    const allowed = decision.kind === "allowed";
    const code = allowed ? Status.OK : Status.PERMISSION_DENIED;
    report({ ...base, allowed, cacheHit: decision.cacheHit, statusCode: code });
    return allowed ? undefined : { code, details: AUTHZ_MESSAGES.denied };
  }

  async function checkWithTimeout(request: Parameters<Authorizer["check"]>[0]): Promise<Decision> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Decision>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ kind: "error", reason: "timeout", error: new Error("authorization timed out") });
      }, config.timeoutMs);
    });
    try {
      const checked = Promise.resolve()
        .then(() => authorizer.check(request, { signal: controller.signal }))
        .catch((error: unknown): Decision => ({ kind: "error", reason: "unavailable", error }));
      return await Promise.race([checked, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  return (methodDescriptor, call) => {
    const rule = rules.get(methodDescriptor.path);
    const end = (outcome: { code: Status; details: string }) =>
      call.sendStatus({ ...outcome, metadata: null });
    const gate = (objectId: () => string, proceed: () => void) => {
      if (rule === undefined) return proceed();
      let id: string;
      try {
        id = objectId();
      } catch {
        id = ""; // generated readers never throw; a hand-written one counts as unresolved
      }
      const unavailable = () => end({ code: Status.UNAVAILABLE, details: AUTHZ_MESSAGES.unavailable });
      const finish = (refusal: Refusal | undefined) => (refusal === undefined ? proceed() : end(refusal));
      let refusal: ReturnType<typeof decide>;
      try {
        refusal = decide(rule, id);
      } catch {
        return unavailable(); // a throwing toUser or authorizer: the engine's answer is unknown
      }
      if (refusal instanceof Promise) refusal.then(finish, unavailable);
      else finish(refusal);
    };
    if (rule === undefined && config.missingRule === "allow") {
      return passWithNoRule(call, () =>
        report({
          relation: "",
          objectType: "",
          objectId: "",
          allowed: true,
          noRule: true,
          statusCode: Status.OK,
        }),
      );
    }
    if (rule?.public) return new ServerInterceptingCall(call);
    const fromRequest = rule?.objectIdSource.startsWith("req.") ?? false;
    let checked = false;
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            if (rule === undefined) {
              report({
                relation: "",
                objectType: "",
                objectId: "",
                allowed: false,
                noRule: true,
                statusCode: Status.PERMISSION_DENIED,
              });
              end({ code: Status.PERMISSION_DENIED, details: AUTHZ_MESSAGES.noRule });
              return;
            }
            if (fromRequest) return nextMetadata(metadata);
            checked = true;
            gate(
              () => rule.objectId(undefined, metadata as Metadata),
              () => nextMetadata(metadata),
            );
          },
          onReceiveMessage: (message, nextMessage) => {
            if (checked || rule === undefined) return nextMessage(message);
            checked = true;
            // grpc-js holds the half-close until this message is passed on, so the handler waits too.
            gate(
              () => rule.objectId(message, emptyMetadata),
              () => nextMessage(message),
            );
          },
        }),
    });
  };
}

const emptyMetadata = { get: () => [] };

/** How a refused call ends. */
interface Refusal {
  code: Status;
  details: string;
}

/** The fields every report of one call's check shares. */
type AuthzCheckBase = Pick<AuthzCheck, "relation" | "objectType" | "objectId" | "storeId" | "modelId">;

/** A pass-through that reports NO_RULE once the call's metadata arrives (inside the audit scope). */
function passWithNoRule(
  call: ServerInterceptingCallInterface,
  reportNoRule: () => void,
): ServerInterceptingCall {
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: (metadata, nextMetadata) => {
          reportNoRule();
          nextMetadata(metadata);
        },
      }),
  });
}

function resolveOptions(options: AuthzInterceptorOptions) {
  const fail = (problem: string): never => {
    throw new AuditConfigError(`authz interceptor: ${problem}`);
  };
  if (typeof options !== "object" || options === null) fail("options must be an object");
  const { authorizer, observer, missingRule = "deny", toUser, timeoutMs = 2000 } = options;
  if (typeof authorizer?.check !== "function") fail("`authorizer` must be an Authorizer");
  if (observer !== undefined && typeof observer !== "function") fail("`observer` must be a function");
  if (missingRule !== "deny" && missingRule !== "allow")
    fail(`missingRule must be "deny" or "allow", got ${String(missingRule)}`);
  if (toUser !== undefined && typeof toUser !== "function") fail("`toUser` must be a function");
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) fail("`timeoutMs` must be a positive number");
  return {
    authorizer,
    observer,
    missingRule,
    toUser: toUser ?? ((actor: Actor) => `user:${actor.id}`),
    timeoutMs,
    rules: mergeAuthzRuleTables(options.rules),
  };
}
