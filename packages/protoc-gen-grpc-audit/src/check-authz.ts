/**
 * Turns the authz options of one proto file into checked authz rules: decides which methods have a
 * rule, merges each method's own `(grpcaudit.v1.authz)` over its service's `(grpcaudit.v1.authz_default)`,
 * and checks relation, object type and the object-id source. Problems are collected like the audit
 * checks', one line each naming file, method, option path and reason.
 *
 * Semantics (also in annotations.proto and the README):
 * - A method with its own `authz` has a rule; the merged rule must be public or complete.
 * - A method without one has the service default's rule only when that default is a rule by itself:
 *   it sets an object-id source or `public: true`. A default with only shared fields (relation,
 *   object_type) lends them to methods with their own `authz` and gives the others no rule.
 * - The three sources overlay as one field: a method that sets any of them replaces the default's.
 * - `public` is not inherited by a method with its own rule, and a public default lends no field.
 * - `public: true` takes no other field in the same option.
 */
import type { DescFile, DescMethod } from "@bufbuild/protobuf";
import {
  checkMethods,
  type FileRules,
  type MethodResult,
  methodPath,
  overlay,
  requireRules,
} from "./check-methods.js";
import { nameProblem } from "./check-name.js";
import { type IdPath, resolveIdPath } from "./field-path.js";
import type { PluginOptions } from "./options.js";
import { quoteValue, quoteValueStart } from "./quote-value.js";
import {
  AUTHZ_METHOD_OPTION,
  AUTHZ_SERVICE_OPTION,
  type AuthzFields,
  type AuthzOptions,
} from "./read-rules.js";
import type { IsSensitive } from "./sensitive.js";

/** Where a non-public rule reads the object id. */
export type ObjectIdSource =
  | { readonly kind: "request"; readonly path: IdPath }
  | { readonly kind: "metadata"; readonly key: string }
  | { readonly kind: "fixed"; readonly id: string };

/** The effective and valid authz rule of one method. */
export interface CheckedAuthzRule {
  readonly method: DescMethod;
  /** Full method path, such as "/example.v1.ProjectService/UpdateProject". */
  readonly path: string;
  readonly public: boolean;
  /** "" when public. */
  readonly relation: string;
  /** "" when public. */
  readonly objectType: string;
  /** "req.project.id", "metadata:x-project-id", "fixed:global", or "" when public. */
  readonly objectIdSource: string;
  /** Undefined when public. */
  readonly objectId: ObjectIdSource | undefined;
}

const METHOD = `(${AUTHZ_METHOD_OPTION})`;
const SERVICE = `(${AUTHZ_SERVICE_OPTION})`;

/** The object-id source fields, in .proto order. */
const SOURCES = [
  ["objectIdField", "object_id_field"],
  ["objectIdMetadata", "object_id_metadata"],
  ["objectIdFixed", "object_id_fixed"],
] as const;

type SourceName = (typeof SOURCES)[number][1];

const SOURCE_NAMES = SOURCES.map(([, name]) => name).join(", ");

/** The other fields `public: true` cannot be combined with. */
const NOT_WITH_PUBLIC = [["relation", "relation"], ["objectType", "object_type"], ...SOURCES] as const;

const WHERE_TO_SET = `set it on the method or in the service's ${SERVICE}`;
const PUBLIC_DEFAULT = `set it on the method (the service's ${SERVICE} is public and lends no field)`;

/**
 * What the authz interceptor refuses in an object id before asking OpenFGA (src/authz/openfga-id.ts):
 * `*` (its wildcard), the separators `:` and `#`, whitespace and control characters. A fixed id with
 * one of them would have every call refused, so it fails the build instead.
 */
const NOT_IN_OBJECT_ID = /[*:#\s\p{Cc}]/u;

/** OpenFGA's limit for an object (`type:id`), in UTF-8 bytes, as the authz interceptor checks it. */
const MAX_OBJECT_BYTES = 256;

/** Headers grpc-js removes from the metadata before the interceptors see it: an id there is never found. */
const REMOVED_HEADERS: ReadonlySet<string> = new Set(["te", "content-type", "accept-encoding"]);

/**
 * Headers that carry the caller's credentials: an id read from one would put the credential into the
 * authz event and the check. The runtime refuses them too, with the authenticators' own keys.
 */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie"]);

/** A valid, lowercase gRPC header name (the gRPC over HTTP/2 spec's Header-Name). */
const HEADER_NAME = /^[0-9a-z_.-]+$/;

/** Checks the authz rules of every method of `file`; `authz` is undefined when no file declares the options. */
export function checkAuthzFile(
  file: DescFile,
  authz: AuthzOptions | undefined,
  options: PluginOptions,
  isSensitive: IsSensitive,
): FileRules<CheckedAuthzRule> {
  return requireRules(
    file,
    checkMethods(file, authz, (method, own, serviceDefault) =>
      checkMethod(method, own, serviceDefault, isSensitive),
    ),
    options.requireAuthz,
    `require_authz=true: methods without an authz rule (their own ${METHOD}, or a service ${SERVICE} with an object-id source or public: true)`,
  );
}

function checkMethod(
  method: DescMethod,
  own: AuthzFields | undefined,
  serviceDefault: AuthzFields | undefined,
  isSensitive: IsSensitive,
): MethodResult<CheckedAuthzRule> {
  const defaultIsRule =
    serviceDefault !== undefined && (serviceDefault.public === true || setSources(serviceDefault).length > 0);
  if (own === undefined && !defaultIsRule) return "none";
  // The method has a rule: its own (over the default), or the default, which then is a rule by itself.
  const [deciding, option] = own !== undefined ? [own, METHOD] : [serviceDefault, SERVICE];
  if (deciding?.public === true) {
    const others = NOT_WITH_PUBLIC.filter(([key]) => deciding[key] !== undefined).map(([, name]) => name);
    if (others.length > 0) {
      return {
        problems: [`${option}.public: public: true takes no other field; remove ${others.join(", ")}`],
      };
    }
    return { rule: publicRule(method) };
  }
  // A public default lends nothing to a method with a rule of its own.
  return serviceDefault?.public === true
    ? checkNonPublic(method, own, undefined, PUBLIC_DEFAULT, isSensitive)
    : checkNonPublic(method, own, serviceDefault, WHERE_TO_SET, isSensitive);
}

/** A rule that is not public: relation, object type and exactly one source, each valid. */
function checkNonPublic(
  method: DescMethod,
  own: AuthzFields | undefined,
  lender: AuthzFields | undefined,
  whereToSet: string,
  isSensitive: IsSensitive,
): MethodResult<CheckedAuthzRule> {
  const pick = overlay(own, lender, AUTHZ_METHOD_OPTION, AUTHZ_SERVICE_OPTION);
  const problems: string[] = [];
  /** The name, or undefined after adding its problem. */
  const name = (key: "relation" | "objectType", field: string, what: "relation" | "type") => {
    const { value, option } = pick(key);
    const problem =
      value === undefined ? `: required unless public: true; ${whereToSet}` : nameProblem(value, what);
    if (problem === undefined) return value;
    problems.push(`${option}.${field}${problem}`);
    return undefined;
  };
  const relation = name("relation", "relation", "relation");
  const objectType = name("objectType", "object_type", "type");
  const source = checkSource(method, own, lender, isSensitive, objectType);
  if (typeof source === "string") problems.push(source);
  if (
    relation === undefined ||
    objectType === undefined ||
    typeof source === "string" ||
    problems.length > 0
  ) {
    return { problems };
  }
  return {
    rule: {
      method,
      path: methodPath(method),
      public: false,
      relation,
      objectType,
      objectIdSource: source.text,
      objectId: source.source,
    },
  };
}

/**
 * The object-id source of the merged rule, or its problem. The sources overlay as one field: the
 * method's own when it sets any, else the default's.
 */
function checkSource(
  method: DescMethod,
  own: AuthzFields | undefined,
  lender: AuthzFields | undefined,
  isSensitive: IsSensitive,
  objectType: string | undefined,
): { text: string; source: ObjectIdSource } | string {
  const [fields, option] =
    own !== undefined && setSources(own).length > 0 ? [own, METHOD] : [lender, SERVICE];
  const set = fields === undefined ? [] : setSources(fields);
  const [only, ...more] = set;
  if (only === undefined) {
    return `${METHOD}: no object-id source; set one of ${SOURCE_NAMES}, or public: true`;
  }
  if (more.length > 0) {
    return `${option}: more than one object-id source (${set.map(([name]) => name).join(", ")}); set exactly one`;
  }
  const [name, value] = only;
  const where = `${option}.${name} ${quoteValue(value)}`;
  if (value === "") return `${option}.${name}: must not be empty`;
  switch (name) {
    case "object_id_field": {
      const problem = requestPathProblem(method, value);
      if (problem !== undefined) return `${where}: ${problem}`;
      const resolved = resolveIdPath(value, method, isSensitive);
      if ("reason" in resolved) return `${where}: ${resolved.reason}`;
      return { text: value, source: { kind: "request", path: resolved.path } };
    }
    case "object_id_metadata": {
      const problem = metadataKeyProblem(value);
      if (problem !== undefined) return `${where}: ${problem}`;
      return { text: `metadata:${value}`, source: { kind: "metadata", key: value } };
    }
    case "object_id_fixed": {
      const problem = fixedIdProblem(objectType, value);
      // An id too long is shown by its start, as its object is.
      if (problem?.tooLong === true) return `${option}.${name} ${quoteValueStart(value)}: ${problem.reason}`;
      if (problem !== undefined) return `${where}: ${problem.reason}`;
      return { text: `fixed:${value}`, source: { kind: "fixed", id: value } };
    }
  }
}

/** Why `text` cannot be read from this method's request before the handler runs, if it cannot. */
function requestPathProblem(method: DescMethod, text: string): string | undefined {
  if (text.startsWith("resp.")) {
    return 'authz runs before the handler, so there is no response to read; use a "req." path';
  }
  if (!text.startsWith("req.")) return 'must start with "req."';
  if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
    const kind = method.methodKind === "client_streaming" ? "client-streaming" : "bidi";
    return `a ${kind} method cannot read the request: the handler starts before the first message; use object_id_metadata or object_id_fixed`;
  }
  return undefined;
}

/**
 * Why the authz interceptor would refuse `id` as the object id of every call, if it would, and whether
 * for its length. The length of `type:id` is checked only with a valid object type (undefined
 * otherwise: that has its own problem); the object is shown by its start, as `quoteValueStart` shows it.
 */
function fixedIdProblem(
  objectType: string | undefined,
  id: string,
): { readonly reason: string; readonly tooLong: boolean } | undefined {
  if (NOT_IN_OBJECT_ID.test(id)) {
    return {
      reason:
        'not an OpenFGA object id (no "*", ":", "#", whitespace or control characters); every call would be refused',
      tooLong: false,
    };
  }
  if (objectType === undefined) return undefined;
  const object = `${objectType}:${id}`;
  const bytes = Buffer.byteLength(object);
  if (bytes > MAX_OBJECT_BYTES) {
    return {
      reason: `the object ${quoteValueStart(object)} is ${bytes} bytes, more than the ${MAX_OBJECT_BYTES} OpenFGA accepts; every call would be refused`,
      tooLong: true,
    };
  }
  return undefined;
}

/** Why `key` cannot name the metadata an id is read from, if it cannot. */
function metadataKeyProblem(key: string): string | undefined {
  if (/[A-Z]/.test(key)) return "must be lowercase (gRPC header names are)";
  if (!HEADER_NAME.test(key)) return 'not a gRPC header name (only 0-9, a-z, "_", "-" and ".")';
  if (key.endsWith("-bin")) return 'names a binary header ("-bin"), whose values are bytes, not an id';
  if (key.startsWith("grpc-")) return 'names a header reserved for gRPC itself ("grpc-")';
  if (REMOVED_HEADERS.has(key))
    return "names a header grpc-js removes before the call, so the id would never be found";
  if (CREDENTIAL_HEADERS.has(key)) {
    return "names a credential header; an id read from it would be recorded and sent to the authorizer";
  }
  return undefined;
}

/** The source fields `fields` sets, as [.proto name, value]. */
function setSources(fields: AuthzFields): [name: SourceName, value: string][] {
  return SOURCES.flatMap(([key, name]) => {
    const value = fields[key];
    return value === undefined ? [] : [[name, value] as [SourceName, string]];
  });
}

function publicRule(method: DescMethod): CheckedAuthzRule {
  return {
    method,
    path: methodPath(method),
    public: true,
    relation: "",
    objectType: "",
    objectIdSource: "",
    objectId: undefined,
  };
}
