import {
  type Actor,
  ActorType,
  type AuthnDetail,
  AuthnFailureReason,
  AuthzDecision,
  type AuthzDetail,
  actorTypeToJSON,
  authnFailureReasonToJSON,
  authzDecisionToJSON,
  type Chain,
  type ChainCheckpointDetail,
  MutationType,
  mutationTypeToJSON,
  type Payload,
  PayloadCapture,
  payloadCaptureToJSON,
  type RecordSummaryDetail,
  type ResourceAccessDetail,
  type ResourceMutationDetail,
  type Result,
  type Target,
  type TupleChange,
  type TupleChangeDetail,
  type TupleCondition,
  TupleOperation,
  tupleOperationToJSON,
} from "../gen/grpcaudit/v1/event.js";

// Proto3 JSON of the messages inside an AuditEvent and of its times, for eventToJson (serialize.ts).

/** A message as proto3 JSON: its set fields by lowerCamelCase name. */
export type Json = Record<string, unknown>;

/** The event's place in its hash chain (`chain`). */
export function chainToJson(chain: Chain): Json {
  const json: Json = {};
  if (chain.chainId !== "") json.chainId = chain.chainId;
  if (chain.seq !== 0) json.seq = Math.round(chain.seq);
  if (chain.prevHash !== "") json.prevHash = chain.prevHash;
  if (chain.hash !== "") json.hash = chain.hash;
  return json;
}

/** What was captured of the call's messages (`payload`). */
export function payloadToJson(payload: Payload): Json {
  const json: Json = {};
  if (payload.capture !== PayloadCapture.PAYLOAD_CAPTURE_UNSPECIFIED) {
    json.capture = payloadCaptureToJSON(payload.capture);
  }
  if (payload.keyId !== "") json.keyId = payload.keyId;
  if (payload.requestDigest !== "") json.requestDigest = payload.requestDigest;
  if (payload.responseDigest !== "") json.responseDigest = payload.responseDigest;
  if (payload.requestCount !== 0) json.requestCount = Math.round(payload.requestCount);
  if (payload.responseCount !== 0) json.responseCount = Math.round(payload.responseCount);
  if (payload.requestJson !== "") json.requestJson = payload.requestJson;
  if (payload.responseJson !== "") json.responseJson = payload.responseJson;
  return json;
}

/** The `resourceAccess` detail. */
export function resourceAccessToJson(access: ResourceAccessDetail): Json {
  const json: Json = {};
  if (access.resourceType !== "") json.resourceType = access.resourceType;
  if (access.resourceId !== "") json.resourceId = access.resourceId;
  return json;
}

/** The `checkpoint` detail. */
export function checkpointToJson(checkpoint: ChainCheckpointDetail): Json {
  const json: Json = {};
  if (checkpoint.headSeq !== 0) json.headSeq = Math.round(checkpoint.headSeq);
  if (checkpoint.headHash !== "") json.headHash = checkpoint.headHash;
  if (checkpoint.keyId !== "") json.keyId = checkpoint.keyId;
  if (checkpoint.signature !== "") json.signature = checkpoint.signature;
  if (checkpoint.final !== false) json.final = checkpoint.final;
  return json;
}

/** The `recordSummary` detail. */
export function recordSummaryToJson(summary: RecordSummaryDetail): Json {
  const json: Json = {};
  if (summary.since !== undefined) json.since = timestampToJson(summary.since);
  if (summary.counts.length > 0) {
    json.counts = summary.counts.map((entry) => {
      const count: Json = {};
      if (entry.kind !== "") count.kind = entry.kind;
      if (entry.actorId !== "") count.actorId = entry.actorId;
      if (entry.operation !== "") count.operation = entry.operation;
      if (entry.count !== 0) count.count = Math.round(entry.count);
      return count;
    });
  }
  if (summary.overflow !== 0) json.overflow = Math.round(summary.overflow);
  return json;
}

/** Who made the call (`actor`). */
export function actorToJson(actor: Actor): Json {
  const json: Json = {};
  if (actor.id !== "") json.id = actor.id;
  if (actor.type !== ActorType.ACTOR_TYPE_UNSPECIFIED) json.type = actorTypeToJSON(actor.type);
  if (actor.displayName !== "") json.displayName = actor.displayName;
  if (actor.email !== "") json.email = actor.email;
  if (actor.subject !== "") json.subject = actor.subject;
  if (actor.clientId !== "") json.clientId = actor.clientId;
  if (actor.realm !== "") json.realm = actor.realm;
  return json;
}

/** What the call was about (`target`). */
export function targetToJson(target: Target): Json {
  const json: Json = {};
  if (target.type !== "") json.type = target.type;
  if (target.id !== "") json.id = target.id;
  if (target.name !== "") json.name = target.name;
  return json;
}

/** How the call ended (`result`). */
export function resultToJson(result: Result): Json {
  const json: Json = {};
  if (result.success !== false) json.success = result.success;
  if (result.code !== "") json.code = result.code;
  if (result.message !== "") json.message = result.message;
  return json;
}

/** The `authn` detail. */
export function authnToJson(authn: AuthnDetail): Json {
  const json: Json = {};
  if (authn.method !== "") json.method = authn.method;
  if (authn.success !== false) json.success = authn.success;
  if (authn.failureReason !== AuthnFailureReason.AUTHN_FAILURE_REASON_UNSPECIFIED) {
    json.failureReason = authnFailureReasonToJSON(authn.failureReason);
  }
  return json;
}

/** The `authz` detail. */
export function authzToJson(authz: AuthzDetail): Json {
  const json: Json = {};
  if (authz.relation !== "") json.relation = authz.relation;
  if (authz.objectType !== "") json.objectType = authz.objectType;
  if (authz.objectId !== "") json.objectId = authz.objectId;
  if (authz.decision !== AuthzDecision.AUTHZ_DECISION_UNSPECIFIED) {
    json.decision = authzDecisionToJSON(authz.decision);
  }
  if (authz.cacheHit !== false) json.cacheHit = authz.cacheHit;
  if (authz.errorReason !== "") json.errorReason = authz.errorReason;
  if (authz.storeId !== "") json.storeId = authz.storeId;
  if (authz.modelId !== "") json.modelId = authz.modelId;
  if (authz.user !== "") json.user = authz.user;
  return json;
}

/** The `tupleChange` detail. */
export function tupleChangeDetailToJson(detail: TupleChangeDetail): Json {
  const json: Json = {};
  if (detail.tuples?.length) json.tuples = detail.tuples.map(tupleToJson);
  if (detail.storeId !== "") json.storeId = detail.storeId;
  if (detail.modelId !== "") json.modelId = detail.modelId;
  return json;
}

function tupleToJson(tuple: TupleChange): Json {
  const json: Json = {};
  if (tuple.operation !== TupleOperation.TUPLE_OPERATION_UNSPECIFIED) {
    json.operation = tupleOperationToJSON(tuple.operation);
  }
  if (tuple.user !== "") json.user = tuple.user;
  if (tuple.relation !== "") json.relation = tuple.relation;
  if (tuple.object !== "") json.object = tuple.object;
  if (tuple.success !== false) json.success = tuple.success;
  if (tuple.errorReason !== "") json.errorReason = tuple.errorReason;
  if (tuple.condition !== undefined) json.condition = tupleConditionToJson(tuple.condition);
  return json;
}

function tupleConditionToJson(condition: TupleCondition): Json {
  const json: Json = {};
  if (condition.name !== "") json.name = condition.name;
  if (condition.contextKeys?.length) json.contextKeys = [...condition.contextKeys];
  return json;
}

/** The `resourceMutation` detail. */
export function resourceMutationToJson(mutation: ResourceMutationDetail): Json {
  const json: Json = {};
  if (mutation.mutation !== MutationType.MUTATION_TYPE_UNSPECIFIED) {
    json.mutation = mutationTypeToJSON(mutation.mutation);
  }
  if (mutation.resourceType !== "") json.resourceType = mutation.resourceType;
  if (mutation.resourceId !== "") json.resourceId = mutation.resourceId;
  return json;
}

// "000Z" ... "999Z": the end of an RFC 3339 time with milliseconds.
const MILLIS_Z = Array.from({ length: 1000 }, (_, ms) => `${String(ms).padStart(3, "0")}Z`);
let cachedSecond = Number.NaN;
let cachedPrefix = "";

/**
 * `date.toISOString()`, which is a slow runtime call (it cost more than the rest of eventToJson):
 * events recorded within the same second share everything up to the milliseconds, so that prefix is
 * kept. An invalid Date throws a RangeError, as toISOString does.
 */
export function timestampToJson(date: Date): string {
  const ms = date.getTime();
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const text = date.toISOString();
    cachedSecond = second;
    cachedPrefix = text.slice(0, -4); // "2026-11-23T10:00:00."; longer for years past 9999
    return text;
  }
  return cachedPrefix + MILLIS_Z[ms - second * 1000];
}
