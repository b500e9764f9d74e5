import type { Authorizer, CheckRequest, Decision } from "../../authz/authorizer.js";
import { openFgaErrorReason } from "../../openfga/error-reason.js";
import type { Recorder } from "../../recorder/recorder.js";
import { CliError, EXIT_FAILURE } from "../errors.js";
import { loadOptionalPeers } from "../optional-peers.js";

/** A relationship tuple: `user` has `relation` on `object` ("user:bob", "viewer", "project:p-1"). */
export type Tuple = CheckRequest;

/**
 * Where the demo service keeps relationship tuples, and the authorizer that reads them. Every write
 * and delete is recorded as one TUPLE_CHANGED event.
 */
export interface DemoTuples {
  /** How the demo output names the authorizer. */
  readonly description: string;
  /** The authorizer that checks against these tuples; hand it to the authz interceptors. */
  readonly authorizer: Authorizer;
  /** Writes the tuples; a non-empty call is recorded as one tuple change event. */
  write(tuples: readonly Tuple[]): Promise<void>;
  /** Deletes the tuples; a non-empty call is recorded as one tuple change event. */
  delete(tuples: readonly Tuple[]): Promise<void>;
  /** Gives up the writes and deletes in flight, recorded as failed: an OpenFGA server may never answer. */
  abandon(): void;
}

/** Name of the authorizer used when no OpenFGA server is configured, as the output shows it. */
export const IN_PROCESS_AUTHORIZER = "in-process demo authorizer (no OpenFGA server configured)";

/**
 * The demo's authorization model, as relations implied by others: an owner is an editor, an editor
 * is a viewer. An OpenFGA store used with `--openfga-url` needs the same model (see the demo's help).
 */
const IMPLIED_BY: Readonly<Record<string, readonly string[]>> = {
  viewer: ["viewer", "editor", "owner"],
  editor: ["editor", "owner"],
};

/**
 * An in-process stand-in for OpenFGA, for the demo only: tuples in a Set and checks that follow
 * `IMPLIED_BY`. Tuple changes are recorded with `recorder.recordTupleChange`, inside the RPC's audit
 * scope, so they name the caller and the operation like the audited OpenFGA tuple writer does.
 */
export function createInProcessTuples(recorder: Pick<Recorder, "recordTupleChange">): DemoTuples {
  const stored = new Set<string>();
  const key = (t: Tuple) => `${t.user}|${t.relation}|${t.object}`;
  const check = async (request: CheckRequest): Promise<Decision> => {
    const relations = IMPLIED_BY[request.relation] ?? [request.relation];
    const allowed = relations.some((relation) => stored.has(key({ ...request, relation })));
    return { kind: allowed ? "allowed" : "denied", cacheHit: false };
  };
  const change = (operation: "write" | "delete", tuples: readonly Tuple[]) => {
    for (const tuple of tuples) {
      if (operation === "write") stored.add(key(tuple));
      else stored.delete(key(tuple));
    }
    if (tuples.length > 0) recorder.recordTupleChange({ tuples: tuples.map((t) => ({ operation, ...t })) });
    return Promise.resolve();
  };
  return {
    description: IN_PROCESS_AUTHORIZER,
    authorizer: { check, batchCheck: (requests) => Promise.all(requests.map((r) => check(r))) },
    write: (tuples) => change("write", tuples),
    delete: (tuples) => change("delete", tuples),
    abandon: () => undefined,
  };
}

/** Where the OpenFGA server of `--openfga-url` is and which store and model to use. */
export interface OpenFgaTarget {
  url: string;
  storeId: string;
  modelId?: string;
}

/**
 * Tuples in a real OpenFGA store: the OpenFGA authorizer and the audited tuple writer of
 * `grpc-audit/openfga`, over an `@openfga/sdk` client. Both are loaded only here, so the demo runs
 * without the SDK installed unless `--openfga-url` is given.
 */
export async function createOpenFgaTuples(
  recorder: Pick<Recorder, "recordTupleChange">,
  target: OpenFgaTarget,
): Promise<DemoTuples> {
  const { OpenFgaClient } = await loadOptionalPeers(() => import("@openfga/sdk"), "--openfga-url", [
    "@openfga/sdk",
  ]);
  const { createAuditedTupleWriter, createOpenFgaAuthorizer } = await import("../../openfga/index.js");
  const client = new OpenFgaClient({
    apiUrl: target.url,
    storeId: target.storeId,
    ...(target.modelId === undefined ? {} : { authorizationModelId: target.modelId }),
  });
  // A wrong URL or store id stops the demo before its calls, which would each be refused as unavailable.
  try {
    await client.read({}, { pageSize: 1 });
  } catch (error) {
    throw new CliError(
      `OpenFGA at ${target.url}: a read of store ${target.storeId} failed (${readFailure(error)}); check --openfga-url and --openfga-store`,
      EXIT_FAILURE,
      { cause: error },
    );
  }
  const authorizer = createOpenFgaAuthorizer({ client });
  const writer = createAuditedTupleWriter({ client, recorder, authorizer });
  const abandoned = new AbortController();
  const options = { signal: abandoned.signal };
  return {
    description: `OpenFGA at ${target.url} (store ${target.storeId}${target.modelId === undefined ? "" : `, model ${target.modelId}`})`,
    authorizer,
    write: async (tuples) => {
      if (tuples.length > 0) await writer.writeTuples([...tuples], options);
    },
    delete: async (tuples) => {
      if (tuples.length > 0) await writer.deleteTuples([...tuples], options);
    },
    abandon: () => abandoned.abort(new Error("the demo is stopping")),
  };
}

/**
 * Why a read failed: the system error code of a transport failure (the SDK keeps it only in its
 * message, "FGA Error: connect ECONNREFUSED …"), else the HTTP status and OpenFGA's reason.
 */
function readFailure(error: unknown): string {
  const { statusCode, message } = (typeof error === "object" && error !== null ? error : {}) as {
    statusCode?: unknown;
    message?: unknown;
  };
  if (typeof statusCode === "number") return `HTTP ${statusCode}, ${openFgaErrorReason(error)}`;
  const code = typeof message === "string" ? /\b(E[A-Z]{3,})\b/.exec(message)?.[1] : undefined;
  return code ?? openFgaErrorReason(error);
}
