/**
 * An OpenFGA stand-in for tests. No OpenFGA server can run here, so this small `node:http` server on
 * 127.0.0.1 plays one: the real `@openfga/sdk` client (see `standInClient`) talks to it over loopback, so
 * tests exercise the SDK's own request building, retries, error classes and per-tuple write results.
 *
 * It speaks the HTTP API the SDK calls for checks and tuples, with OpenFGA's JSON shapes and error bodies
 * (`{ code, message }`): POST /stores/{store_id}/check, /batch-check, /write and /read. Tuples live in
 * memory. A check is allowed iff the exact tuple exists (stored or contextual), or a tuple with a relation
 * that implies the asked one through `impliedBy` (owner → editor → viewer, say): there is no model,
 * no usersets and no conditions. Faults (latency, HTTP errors, dropped connections) can be injected per
 * endpoint, and every request is counted and logged.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { OpenFgaClient, type UserClientConfigurationParams } from "@openfga/sdk";

/** A valid ULID (the SDK refuses other store ids). */
export const STAND_IN_STORE_ID = "01JSTANDN0STRE00000000000A";
/** A valid ULID used as the authorization model id. */
export const STAND_IN_MODEL_ID = "01JSTANDN0MDE100000000000B";

export type StandInEndpoint = "check" | "batch-check" | "write" | "read";

/** A relationship tuple as OpenFGA's HTTP API spells it. */
export interface StandInTuple {
  user: string;
  relation: string;
  object: string;
  condition?: { name: string; context?: Record<string, unknown> };
}

/** What to do to matching requests. Several faults apply in the order they were injected. */
export interface StandInFault {
  /** Default: every endpoint. */
  endpoint?: StandInEndpoint;
  /** How many requests it applies to. Default: all from now on. */
  times?: number;
  /** Wait this long before answering (stops waiting when the client goes away). */
  latencyMs?: number;
  /** Answer only once this settles (stops waiting when the client goes away), then as the fault says. */
  hold?: Promise<unknown>;
  /** Answer with this HTTP status and OpenFGA's error body for it (429, 500, 503, ...). */
  status?: number;
  /** With `status`: the answer's `Retry-After` header, such as "30" (seconds). Default: none. */
  retryAfter?: string;
  /** Drop the connection without answering (a network error for the client). */
  reset?: boolean;
}

export interface StandInOptions {
  storeId?: string;
  modelId?: string;
  /** When set, requests must carry `Authorization: Bearer <token>`, else 401. */
  token?: string;
  /** Relations implied by others: `{ viewer: ["editor"], editor: ["owner"] }`. */
  impliedBy?: Readonly<Record<string, readonly string[]>>;
  /** Tuples present at start. */
  tuples?: readonly StandInTuple[];
}

/** One request as the stand-in received it. */
export interface StandInRequest {
  endpoint: StandInEndpoint | "other";
  body: unknown;
  authorization: string | undefined;
}

export interface OpenFgaStandIn {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly storeId: string;
  readonly modelId: string;
  /** Requests received, by endpoint, faulted ones included. */
  readonly counts: Readonly<Record<StandInEndpoint | "other", number>>;
  /** Every request received, oldest first. */
  readonly requests: readonly StandInRequest[];
  /** Requests whose client went away before they were answered. */
  readonly abandoned: number;
  /** The stored tuples, oldest first. */
  tuples(): StandInTuple[];
  addTuples(...tuples: StandInTuple[]): void;
  inject(fault: StandInFault): void;
  clearFaults(): void;
  /** Stops listening and cuts open connections. */
  close(): Promise<void>;
}

type Answer = { status: number; body: unknown };

const ERROR_BODIES: Readonly<Record<number, { code: string; message: string }>> = {
  401: { code: "unauthenticated", message: "unauthenticated" },
  429: { code: "rate_limit_exceeded", message: "rate limit exceeded" },
  500: { code: "internal_error", message: "Internal Server Error" },
  503: { code: "unavailable", message: "service unavailable" },
};

const ENDPOINTS: ReadonlySet<string> = new Set<StandInEndpoint>(["check", "batch-check", "write", "read"]);

/** Starts a stand-in on 127.0.0.1 and an ephemeral port. */
export async function startOpenFgaStandIn(options: StandInOptions = {}): Promise<OpenFgaStandIn> {
  const storeId = options.storeId ?? STAND_IN_STORE_ID;
  const modelId = options.modelId ?? STAND_IN_MODEL_ID;
  const store = new Map<string, StandInTuple & { timestamp: string }>();
  const counts = { check: 0, "batch-check": 0, write: 0, read: 0, other: 0 };
  const requests: StandInRequest[] = [];
  const faults: (StandInFault & { remaining: number })[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let abandoned = 0;

  const addTuples = (...tuples: StandInTuple[]) => {
    for (const tuple of tuples) store.set(keyOf(tuple), { ...tuple, timestamp: new Date().toISOString() });
  };
  addTuples(...(options.tuples ?? []));

  function allowed(tuple: StandInTuple, contextual: readonly StandInTuple[]): boolean {
    const has = (relation: string) =>
      store.has(keyOf({ ...tuple, relation })) ||
      contextual.some((t) => keyOf(t) === keyOf({ ...tuple, relation }));
    const seen = new Set<string>();
    const visit = (relation: string): boolean => {
      if (seen.has(relation)) return false;
      seen.add(relation);
      return has(relation) || (options.impliedBy?.[relation] ?? []).some(visit);
    };
    return visit(tuple.relation);
  }

  const handlers: Record<StandInEndpoint, (body: Record<string, unknown>) => Answer> = {
    check(body) {
      const tuple = body.tuple_key as StandInTuple;
      const problem = tupleProblem(tuple);
      if (problem !== undefined) return fgaError(400, "validation_error", problem);
      return {
        status: 200,
        body: { allowed: allowed(tuple, contextualOf(body.contextual_tuples)), resolution: "" },
      };
    },
    "batch-check"(body) {
      const checks = Array.isArray(body.checks) ? (body.checks as Record<string, unknown>[]) : [];
      if (checks.length === 0) return fgaError(400, "validation_error", "invalid BatchCheckRequest.Checks");
      const result: Record<string, unknown> = {};
      for (const check of checks) {
        const id = check.correlation_id;
        if (typeof id !== "string" || !/^[\w\d-]{1,36}$/.test(id) || id in result) {
          return fgaError(400, "validation_error", "invalid or duplicate correlation_id");
        }
        const tuple = check.tuple_key as StandInTuple;
        const problem = tupleProblem(tuple);
        result[id] =
          problem === undefined
            ? { allowed: allowed(tuple, contextualOf(check.contextual_tuples)) }
            : { error: { input_error: "validation_error", message: problem } };
      }
      return { status: 200, body: { result } };
    },
    write(body) {
      const writes =
        (body.writes as { tuple_keys?: StandInTuple[]; on_duplicate?: string } | undefined) ?? {};
      const deletes =
        (body.deletes as { tuple_keys?: StandInTuple[]; on_missing?: string } | undefined) ?? {};
      const toWrite = writes.tuple_keys ?? [];
      const toDelete = deletes.tuple_keys ?? [];
      if (toWrite.length + toDelete.length === 0) {
        return fgaError(
          400,
          "invalid_write_input",
          "Invalid input. Make sure you provide at least one write or delete",
        );
      }
      const seen = new Set<string>();
      for (const tuple of [...toWrite, ...toDelete]) {
        const problem = tupleProblem(tuple);
        if (problem !== undefined) return fgaError(400, "validation_error", problem);
        if (seen.has(keyOf(tuple))) {
          return fgaError(
            400,
            "cannot_allow_duplicate_tuples_in_one_request",
            `duplicate tuple in write: ${describe(tuple)}`,
          );
        }
        seen.add(keyOf(tuple));
      }
      // All or nothing, as in OpenFGA: check every tuple before changing any.
      const missing = toDelete.find((tuple) => !store.has(keyOf(tuple)));
      if (missing !== undefined && deletes.on_missing !== "ignore") {
        return writeFailed(`cannot delete a tuple which does not exist: ${describe(missing)}`);
      }
      const existing = toWrite.find((tuple) => store.has(keyOf(tuple)));
      if (existing !== undefined && writes.on_duplicate !== "ignore") {
        return writeFailed(`cannot write a tuple which already exists: ${describe(existing)}`);
      }
      for (const tuple of toDelete) store.delete(keyOf(tuple));
      addTuples(...toWrite.filter((tuple) => !store.has(keyOf(tuple))));
      return { status: 200, body: {} };
    },
    read(body) {
      const filter = (body.tuple_key as Partial<StandInTuple> | undefined) ?? {};
      const tuples = [...store.values()].filter(
        (t) =>
          (filter.user === undefined || t.user === filter.user) &&
          (filter.relation === undefined || t.relation === filter.relation) &&
          (filter.object === undefined ||
            (filter.object.endsWith(":") ? t.object.startsWith(filter.object) : t.object === filter.object)),
      );
      const keyed = tuples.map(({ timestamp, ...key }) => ({ key, timestamp }));
      return { status: 200, body: { tuples: keyed, continuation_token: "" } };
    },
  };

  function route(
    endpoint: StandInEndpoint | "other",
    pathStoreId: string,
    body: unknown,
    auth?: string,
  ): Answer {
    if (options.token !== undefined && auth !== `Bearer ${options.token}`) return fgaErrorFor(401);
    if (endpoint === "other") return fgaError(404, "undefined_endpoint", "Not Found");
    if (pathStoreId !== storeId) return fgaError(404, "store_id_not_found", "store not found");
    if (typeof body !== "object" || body === null)
      return fgaError(400, "validation_error", "invalid JSON body");
    const fields = body as Record<string, unknown>;
    const model = fields.authorization_model_id;
    if (model !== undefined && model !== "" && model !== modelId) {
      return fgaError(
        400,
        "authorization_model_not_found",
        `Authorization Model '${String(model)}' not found`,
      );
    }
    return handlers[endpoint](fields);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [, stores, pathStoreId = "", name = "", ...rest] = (req.url ?? "").split("?")[0]?.split("/") ?? [];
    const endpoint =
      req.method === "POST" && stores === "stores" && rest.length === 0 && ENDPOINTS.has(name)
        ? (name as StandInEndpoint)
        : "other";
    const text = await readBody(req);
    const body = parseJson(text);
    counts[endpoint]++;
    requests.push({ endpoint, body, authorization: req.headers.authorization });
    const fault = takeFault(endpoint);
    if (fault?.latencyMs !== undefined) await wait(fault.latencyMs, res);
    if (fault?.hold !== undefined) await held(fault.hold, res);
    if (res.writableEnded || res.destroyed || req.socket.destroyed) return;
    if (fault?.reset === true) {
      req.socket.destroy();
      return;
    }
    const answer =
      fault?.status !== undefined
        ? fgaErrorFor(fault.status)
        : route(endpoint, pathStoreId, body, req.headers.authorization);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (fault?.status !== undefined && fault.retryAfter !== undefined)
      headers["retry-after"] = fault.retryAfter;
    res.writeHead(answer.status, headers);
    res.end(JSON.stringify(answer.body));
  }

  function takeFault(endpoint: StandInEndpoint | "other"): StandInFault | undefined {
    const fault = faults.find(
      (f) => f.remaining > 0 && (f.endpoint === undefined || f.endpoint === endpoint),
    );
    if (fault !== undefined) fault.remaining--;
    return fault;
  }

  function wait(ms: number, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        timers.delete(timer);
        res.off("close", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timers.add(timer);
      res.on("close", done);
    });
  }

  function held(until: Promise<unknown>, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        res.off("close", done);
        resolve();
      };
      until.then(done, done);
      res.on("close", done);
    });
  }

  const server = createServer((req, res) => {
    res.on("close", () => {
      if (!res.writableEnded) abandoned++;
    });
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end(JSON.stringify(ERROR_BODIES[500]));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    storeId,
    modelId,
    counts,
    requests,
    get abandoned() {
      return abandoned;
    },
    tuples: () => [...store.values()].map(({ timestamp, ...tuple }) => tuple),
    addTuples,
    inject(fault) {
      faults.push({ ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults() {
      faults.length = 0;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * The SDK's HTTP timeout (`baseOptions.timeout`) for tests whose stand-in or proxy holds a request
 * unanswered until the client gives up. The same timeout bounds every other request of the client,
 * which must be answered within it: 200 ms was too short for a loopback request (through the proxy,
 * on a new connection) on a loaded machine, where it took up to ~400 ms, and a write answered 429 or
 * forwarded was recorded as timed out ("unknown_outcome"). A bound on load; the held requests wait it out.
 */
export const SDK_TIMEOUT_MS = 1000;

/**
 * A real `OpenFgaClient` pointed at the stand-in, with its store and model ids and retries kept fast
 * (`maxRetry: 0` unless overridden: a 5xx or 429 fails at once).
 */
export function standInClient(
  standIn: OpenFgaStandIn,
  overrides: Partial<UserClientConfigurationParams & { storeId: string; authorizationModelId: string }> = {},
): OpenFgaClient {
  return new OpenFgaClient({
    apiUrl: standIn.url,
    storeId: standIn.storeId,
    authorizationModelId: standIn.modelId,
    retryParams: { maxRetry: 0, minWaitInMs: 10 },
    ...overrides,
  });
}

/**
 * A real `OpenFgaClient` for a server of a test's own (one that answers as no OpenFGA would), which this
 * starts listening on a free loopback port; the stand-in's store and model ids, `maxRetry: 0` unless
 * given, and the client's `baseOptions` if given.
 */
export async function clientOfServer(
  server: Server,
  {
    maxRetry = 0,
    baseOptions,
  }: { maxRetry?: number; baseOptions?: Record<string, unknown> | undefined } = {},
): Promise<OpenFgaClient> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return new OpenFgaClient({
    apiUrl: `http://127.0.0.1:${port}`,
    storeId: STAND_IN_STORE_ID,
    authorizationModelId: STAND_IN_MODEL_ID,
    retryParams: { maxRetry, minWaitInMs: 10 },
    ...(baseOptions === undefined ? {} : { baseOptions }),
  });
}

function fgaError(status: number, code: string, message: string): Answer {
  return { status, body: { code, message } };
}

function fgaErrorFor(status: number): Answer {
  const body = ERROR_BODIES[status] ?? (status >= 500 ? ERROR_BODIES[500] : undefined);
  return { status, body: body ?? { code: "unknown", message: `HTTP ${status}` } };
}

function writeFailed(detail: string): Answer {
  const why = "tuple to be written already existed or the tuple to be deleted did not exist";
  return fgaError(400, "write_failed_due_to_invalid_input", `${detail}: ${why}`);
}

/** OpenFGA's format checks, simplified: `type:id` objects, `type:id` or `type:id#relation` users. */
function tupleProblem(tuple: unknown): string | undefined {
  if (typeof tuple !== "object" || tuple === null) return "tuple_key is required";
  const { user, relation, object } = tuple as Record<string, unknown>;
  if (typeof object !== "string" || !/^[^\s:#]+:[^\s#]+$/.test(object))
    return "invalid 'object' field format";
  if (typeof relation !== "string" || !/^[^:#@\s]{1,50}$/.test(relation))
    return "invalid 'relation' field format";
  if (typeof user !== "string" || !/^[^\s:#]+:[^\s#]+(#[^:#@\s]+)?$/.test(user))
    return "invalid 'user' field format";
  return undefined;
}

function contextualOf(value: unknown): StandInTuple[] {
  const keys = (value as { tuple_keys?: unknown } | undefined)?.tuple_keys;
  return Array.isArray(keys) ? (keys as StandInTuple[]) : [];
}

function keyOf(tuple: StandInTuple): string {
  return JSON.stringify([tuple.user, tuple.relation, tuple.object]);
}

function describe(tuple: StandInTuple): string {
  return `user: '${tuple.user}', relation: '${tuple.relation}', object: '${tuple.object}'`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  if (text === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
