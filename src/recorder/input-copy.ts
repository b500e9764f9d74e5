// Record inputs are copied into plain objects before they are checked, reading each known field exactly
// once: a getter that returns something else on its second read, or a Proxy, then cannot change a value
// between its check and its use, and nothing of the caller's object is touched after the copy. Fields
// the Recorder does not know are never read. The copy may throw (a getter or a Proxy trap that throws);
// the caller turns that into a refused input.
//
// Each copy is one object literal with every field read by a literal name: the record calls run on the
// RPC path, and V8 looks fields named by a variable up the slow way and reshapes objects that grow.
// The fields of RecordContext are therefore listed in each of the five copies.

type Input = Record<string, unknown>;

const getTime = Date.prototype.getTime;

/** A copy of a `recordAuthnResult` input (the input itself when it is not an object). */
export function copyAuthnInput(input: unknown): unknown {
  if (!isObject(input)) return input;
  return {
    method: input.method,
    success: input.success,
    failureReason: input.failureReason,
    operation: input.operation,
    actor: copyActor(input.actor),
    target: copyTarget(input.target),
    result: copyResult(input.result),
    traceId: input.traceId,
    spanId: input.spanId,
    requestId: input.requestId,
    peer: input.peer,
    userAgent: input.userAgent,
    durationMs: input.durationMs,
    occurredAt: copyDate(input.occurredAt),
    statusMessages: input.statusMessages,
    attributes: copyAttributes(input.attributes),
    payload: copyPayload(input.payload),
  };
}

/** A copy of a `recordAuthzDecision` input. */
export function copyAuthzInput(input: unknown): unknown {
  if (!isObject(input)) return input;
  return {
    relation: input.relation,
    objectType: input.objectType,
    objectId: input.objectId,
    decision: input.decision,
    cacheHit: input.cacheHit,
    errorReason: input.errorReason,
    storeId: input.storeId,
    modelId: input.modelId,
    user: input.user,
    operation: input.operation,
    actor: copyActor(input.actor),
    target: copyTarget(input.target),
    result: copyResult(input.result),
    traceId: input.traceId,
    spanId: input.spanId,
    requestId: input.requestId,
    peer: input.peer,
    userAgent: input.userAgent,
    durationMs: input.durationMs,
    occurredAt: copyDate(input.occurredAt),
    statusMessages: input.statusMessages,
    attributes: copyAttributes(input.attributes),
    payload: copyPayload(input.payload),
  };
}

/** A copy of a `recordTupleChange` input; its tuples array is copied too. */
export function copyTupleInput(input: unknown): unknown {
  if (!isObject(input)) return input;
  return {
    tuples: copyTuples(input.tuples),
    storeId: input.storeId,
    modelId: input.modelId,
    operation: input.operation,
    actor: copyActor(input.actor),
    target: copyTarget(input.target),
    result: copyResult(input.result),
    traceId: input.traceId,
    spanId: input.spanId,
    requestId: input.requestId,
    peer: input.peer,
    userAgent: input.userAgent,
    durationMs: input.durationMs,
    occurredAt: copyDate(input.occurredAt),
    statusMessages: input.statusMessages,
    attributes: copyAttributes(input.attributes),
    payload: copyPayload(input.payload),
  };
}

/** A copy of a `recordResourceMutation` input (a spread of the access copy cost a second object). */
export function copyMutationInput(input: unknown): unknown {
  if (!isObject(input)) return input;
  return {
    mutation: input.mutation,
    resourceType: input.resourceType,
    resourceId: input.resourceId,
    operation: input.operation,
    actor: copyActor(input.actor),
    target: copyTarget(input.target),
    result: copyResult(input.result),
    traceId: input.traceId,
    spanId: input.spanId,
    requestId: input.requestId,
    peer: input.peer,
    userAgent: input.userAgent,
    durationMs: input.durationMs,
    occurredAt: copyDate(input.occurredAt),
    statusMessages: input.statusMessages,
    attributes: copyAttributes(input.attributes),
    payload: copyPayload(input.payload),
  };
}

/** A copy of a `recordResourceAccess` input (a mutation's fields but `mutation`). */
export function copyAccessInput(input: unknown): unknown {
  if (!isObject(input)) return input;
  return {
    resourceType: input.resourceType,
    resourceId: input.resourceId,
    operation: input.operation,
    actor: copyActor(input.actor),
    target: copyTarget(input.target),
    result: copyResult(input.result),
    traceId: input.traceId,
    spanId: input.spanId,
    requestId: input.requestId,
    peer: input.peer,
    userAgent: input.userAgent,
    durationMs: input.durationMs,
    occurredAt: copyDate(input.occurredAt),
    statusMessages: input.statusMessages,
    attributes: copyAttributes(input.attributes),
    payload: copyPayload(input.payload),
  };
}

/**
 * A copy of an attributes map: its own enumerable string-keyed entries, each value read once, in an
 * object without a prototype (a "__proto__" key stays an entry). The values are not checked here:
 * the Recorder reads them as unknown, keeps the strings and drops and counts the rest.
 */
function copyAttributes(attributes: unknown): unknown {
  if (!isObject(attributes) || Array.isArray(attributes)) return attributes;
  const copied: Input = Object.create(null);
  for (const key of Object.keys(attributes)) copied[key] = attributes[key];
  return copied;
}

function copyTuples(tuples: unknown): unknown {
  if (!Array.isArray(tuples)) return tuples;
  const length = tuples.length; // read once: a Proxy could report another length on each read
  const copied: unknown[] = [];
  for (let i = 0; i < length; i++) copied.push(copyTuple(tuples[i]));
  return copied;
}

function copyTuple(tuple: unknown): unknown {
  if (!isObject(tuple)) return tuple;
  return {
    operation: tuple.operation,
    user: tuple.user,
    relation: tuple.relation,
    object: tuple.object,
    success: tuple.success,
    errorReason: tuple.errorReason,
    condition: copyCondition(tuple.condition),
  };
}

function copyCondition(condition: unknown): unknown {
  if (!isObject(condition)) return condition;
  const keys = condition.contextKeys;
  return { name: condition.name, contextKeys: Array.isArray(keys) ? [...keys] : keys };
}

function copyActor(actor: unknown): unknown {
  if (!isObject(actor)) return actor;
  return {
    id: actor.id,
    type: actor.type,
    displayName: actor.displayName,
    email: actor.email,
    subject: actor.subject,
    clientId: actor.clientId,
    realm: actor.realm,
  };
}

function copyTarget(target: unknown): unknown {
  if (!isObject(target)) return target;
  return { type: target.type, id: target.id, name: target.name };
}

function copyPayload(payload: unknown): unknown {
  if (!isObject(payload)) return payload;
  return {
    capture: payload.capture,
    keyId: payload.keyId,
    requestDigest: payload.requestDigest,
    responseDigest: payload.responseDigest,
    requestCount: payload.requestCount,
    responseCount: payload.responseCount,
    requestJson: payload.requestJson,
    responseJson: payload.responseJson,
  };
}

function copyResult(result: unknown): unknown {
  if (!isObject(result)) return result;
  return { success: result.success, code: result.code, message: result.message };
}

/**
 * A new Date with the time of `value` when it is a Date; any other object becomes an empty object (so
 * the check that refuses it never touches the caller's object again); anything else stays as it is.
 * The time is read with Date.prototype.getTime itself, so an own or inherited `getTime` cannot lie.
 */
function copyDate(value: unknown): unknown {
  if (!isObject(value)) return value;
  let time: number;
  try {
    time = getTime.call(value); // throws for anything that is not a real Date, a Proxy of one included
  } catch {
    return {};
  }
  return new Date(time);
}

function isObject(value: unknown): value is Input {
  return typeof value === "object" && value !== null;
}
