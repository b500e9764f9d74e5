import type { ServerInterceptor } from "@grpc/grpc-js";
import type { Authenticator } from "../authn/authenticator.js";
import { AuditConfigError } from "../errors/index.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import { pendingRecordsOf } from "../recorder/pending-records.js";
import type { Recorder } from "../recorder/recorder.js";
import { createAuditScopeInterceptor } from "./audit-scope-interceptor.js";
import { type AuthnInterceptorOptions, createAuthnInterceptor } from "./authn-interceptor.js";
import { type AuthzInterceptorOptions, createAuthzInterceptor } from "./authz-interceptor.js";
import { createRulesInterceptor, type RulesInterceptorOptions } from "./rules-interceptor.js";

/** Options of `createAuditInterceptors`. */
export interface AuditInterceptorsOptions extends RulesInterceptorOptions {
  /** Records every event: mutations, and the attempts and decisions of authn and authz. */
  recorder: Recorder;
  /** Authenticate callers; every attempt is recorded through `recorder.authnObserver()`. Default: no authn. */
  authn?: Omit<AuthnInterceptorOptions, "observer">;
  /** Authorize calls; every decision and refusal is recorded through `recorder.authzObserver()`. Default: no authz. */
  authz?: Omit<AuthzInterceptorOptions, "observer">;
  /**
   * Response header that carries the call's request id (the caller's valid `x-request-id`, else the
   * one generated for the call), so the caller can cite the audit events of its call. Also on refused
   * calls. A lowercase gRPC metadata key, not one HTTP/2 or gRPC reserve (such as `te` or `content-type`:
   * an AuditConfigError names the reason); false: none. Default: "x-request-id".
   */
  requestIdHeader?: string | false;
}

/**
 * The option names of `AuditInterceptorsOptions` and of its `authn` and `authz` objects (the record
 * types make a name missing here, or one the interfaces lack, a compile error).
 * @internal
 */
export const AUDIT_INTERCEPTORS_OPTION_NAMES = Object.freeze({
  top: Object.keys({
    recorder: 1,
    rules: 1,
    failMode: 1,
    payloadDigestKey: 1,
    handlerSettleTimeoutMs: 1,
    authn: 1,
    authz: 1,
    requestIdHeader: 1,
  } satisfies Record<keyof AuditInterceptorsOptions, 1>),
  authn: Object.keys({ authenticators: 1, allowAnonymous: 1 } satisfies Record<
    keyof NonNullable<AuditInterceptorsOptions["authn"]>,
    1
  >),
  authz: Object.keys({ authorizer: 1, rules: 1, missingRule: 1, toUser: 1, timeoutMs: 1 } satisfies Record<
    keyof NonNullable<AuditInterceptorsOptions["authz"]>,
    1
  >),
});

/**
 * The audit interceptor chain in the order it must run: the audit scope first (it must see every
 * outcome, also rejections by later interceptors), then authn, authz, and the rules interceptor. Put the
 * result at the start of the server's interceptors.
 *
 * ```ts
 * const server = new Server({
 *   interceptors: createAuditInterceptors({ recorder, rules: [auditRules], authn: { authenticators: [jwt] } }),
 * });
 * ```
 */
export function createAuditInterceptors(options: AuditInterceptorsOptions): ServerInterceptor[] {
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError("createAuditInterceptors: options must be an object");
  }
  const names = AUDIT_INTERCEPTORS_OPTION_NAMES;
  rejectUnknownOptions(LABEL, options, names.top);
  for (const part of ["authn", "authz"] as const) {
    const nested: unknown = options[part];
    if (nested === undefined) continue;
    if (typeof nested !== "object" || nested === null || Array.isArray(nested)) {
      throw new AuditConfigError(`${LABEL}: \`${part}\` must be an object`);
    }
    rejectUnknownOptions(`${LABEL}: ${part}`, nested, names[part]);
  }
  const { rules } = options as { rules?: unknown };
  if (rules === undefined || rules === null) {
    throw new AuditConfigError(
      `${LABEL}: \`rules\` is required: the generated \`auditRules\` tables (\`[]\` for none)`,
    );
  }
  if (typeof rules !== "object") {
    throw new AuditConfigError(
      `${LABEL}: \`rules\` must be a generated \`auditRules\` table or a list of them, got ${typeof rules}`,
    );
  }
  const { requestIdHeader = "x-request-id" } = options;
  const chain = [
    asCalled("audit scope interceptor", "top", () => createAuditScopeInterceptor({ requestIdHeader })),
  ];
  // Records that come later than the hook that started them are noted, so that recorder.close() waits.
  const pending = pendingRecordsOf(options.recorder);
  const { authn, authz } = options;
  if (authn !== undefined) {
    const observer = observerOf(options, "authnObserver");
    chain.push(
      asCalled("authn interceptor", "authn", () => createAuthnInterceptor({ ...authn, observer }, pending)),
    );
  }
  // Checked whenever authn is given; used by authz: only here are both known, and a rule reading its
  // object id where an authenticator reads its credential would record the credential.
  const credentialKeys = authn === undefined ? undefined : credentialKeysOf(authn.authenticators);
  if (authz !== undefined) {
    const observer = observerOf(options, "authzObserver");
    chain.push(
      asCalled("authz interceptor", "authz", () =>
        createAuthzInterceptor({ ...authz, observer }, pending, credentialKeys),
      ),
    );
  }
  chain.push(asCalled("rules interceptor", "top", () => createRulesInterceptor(options)));
  return chain;
}

const LABEL = "createAuditInterceptors";

/**
 * Runs the internal factory `make`, whose AuditConfigErrors begin with `inner` ("authz interceptor:
 * …"), and throws each again as the caller of createAuditInterceptors reads it: naming this function,
 * and the option by its path in what was passed (`authz.timeoutMs`), as its own checks do. The internal
 * names mean nothing to the caller. Other errors (the rule tables name their own paths) pass unchanged.
 */
function asCalled<T>(inner: string, part: "top" | "authn" | "authz", make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (!(error instanceof AuditConfigError) || !error.message.startsWith(`${inner}: `)) throw error;
    throw new AuditConfigError(`${LABEL}: ${withOptionPath(error.message.slice(inner.length + 2), part)}`);
  }
}

/**
 * An internal factory's `problem` with the option it begins with (`timeoutMs`, authenticators[0])
 * written as its path in the options of createAuditInterceptors (`authz.timeoutMs`,
 * `authn.authenticators[0]`); one that begins with no option of `part` is put after the part's name.
 */
function withOptionPath(problem: string, part: "top" | "authn" | "authz"): string {
  const [found, name = "", index = ""] = /^`?([A-Za-z]+)(\[\d+\])?`? /.exec(problem) ?? [];
  const prefix = part === "top" ? "" : `${part}.`;
  if (found !== undefined && AUDIT_INTERCEPTORS_OPTION_NAMES[part].includes(name)) {
    return `\`${prefix}${name}${index}\` ${problem.slice(found.length)}`;
  }
  return part === "top" ? problem : `${part}: ${problem}`;
}

/** The recorder's observer for authn or authz; an AuditConfigError naming `recorder` when it has none. */
function observerOf<K extends "authnObserver" | "authzObserver">(
  options: AuditInterceptorsOptions,
  name: K,
): ReturnType<Recorder[K]> {
  const recorder: Partial<Recorder> | undefined = options.recorder;
  if (typeof recorder?.[name] !== "function") {
    throw new AuditConfigError(
      `createAuditInterceptors: \`recorder\` must be a Recorder (createRecorder), with ${name}`,
    );
  }
  return recorder[name]() as ReturnType<Recorder[K]>;
}

/** A gRPC metadata key, in any case (grpc-js lowercases them): a padded or empty one would match nothing. */
const HEADER_NAME = /^[0-9a-z_.-]+$/i;

/** Each metadata key the authenticators read credentials from, with the first that reads it, for errors. */
function credentialKeysOf(authenticators: readonly Authenticator[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [i, authenticator] of authenticators.entries()) {
    const name = `authn.authenticators[${i}] (${JSON.stringify(authenticator.method)})`;
    const own: unknown = authenticator.credentialMetadataKeys;
    if (own === undefined) continue;
    if (!Array.isArray(own) || own.some((key) => typeof key !== "string" || !HEADER_NAME.test(key))) {
      throw new AuditConfigError(
        `${LABEL}: ${name}: \`credentialMetadataKeys\` must list metadata keys (letters, digits, "_", ".", "-")`,
      );
    }
    // grpc-js lowercases metadata keys.
    for (const key of own as string[]) if (!keys.has(key.toLowerCase())) keys.set(key.toLowerCase(), name);
  }
  return keys;
}
