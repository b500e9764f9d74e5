import { AuditConfigError } from "../errors/index.js";
import { checkRuleFormat } from "./rule-format.js";

/** How errors name one kind of table: where it is passed, its generated export, what only its rules have. @internal */
export interface TableKind {
  /** Prefix of its errors, such as "rules". */
  readonly label: string;
  /** The rule kind, as in "an audit rule". */
  readonly rule: string;
  /** The `createAuditInterceptors` option that takes these tables. */
  readonly option: string;
  /** The name protoc-gen-grpc-audit exports these tables under. */
  readonly table: string;
  /** The function every rule of this kind has and the other kind's rules lack. */
  readonly extractor: string;
}

/** Audit rule tables. @internal */
export const AUDIT_TABLES: TableKind = {
  label: "rules",
  rule: "audit",
  option: "rules",
  table: "auditRules",
  extractor: "targetId",
};

/** Authz rule tables. @internal */
export const AUTHZ_TABLES: TableKind = {
  label: "authz rules",
  rule: "authz",
  option: "authz.rules",
  table: "authzRules",
  extractor: "objectId",
};

/**
 * Merges generated per-file tables keyed by full method path into one map, checking each entry's
 * `format` and then the entry with `check` (both throw an AuditConfigError): a rule of a newer format
 * is refused before older checks judge its other fields. The same entry may appear twice (one table
 * imported twice); two different entries for one path throw, naming the tables by position. A whole
 * generated module, or a rule of the other kind, is refused with what to pass instead.
 * @internal
 */
export function mergeTables<T extends { readonly method: string; readonly format?: number }>(
  kind: TableKind,
  tables: Readonly<Record<string, T>> | readonly Readonly<Record<string, T>>[],
  check: (path: string, entry: T, fail: (problem: string) => never) => void,
): ReadonlyMap<string, T> {
  const { label } = kind;
  const other = kind === AUDIT_TABLES ? AUTHZ_TABLES : AUDIT_TABLES;
  const list = Array.isArray(tables) ? tables : [tables];
  const merged = new Map<string, { entry: T; from: number }>();
  for (const [i, table] of list.entries()) {
    // A Map or an array is an object too, but its entries are not its own keys: it would add no rules.
    if (!isPlainObject(table)) {
      throw new AuditConfigError(`${label}[${i}] must be a table (an object keyed by method path)`);
    }
    if (Object.hasOwn(table, AUDIT_TABLES.table) || Object.hasOwn(table, AUTHZ_TABLES.table)) {
      throw new AuditConfigError(
        `${label}[${i}] is a whole generated module (import * as …): pass its ${kind.table}, as in ${kind.option}: [module.${kind.table}]`,
      );
    }
    for (const [path, entry] of Object.entries(table as Readonly<Record<string, T>>)) {
      const fail = (problem: string): never => {
        throw new AuditConfigError(`${label}: ${path}: ${problem}`);
      };
      if (typeof entry !== "object" || entry === null) fail("entry must be an object");
      if (!/^\/[^/]+\/[^/]+$/.test(path))
        fail('key must be a full method path such as "/pkg.Service/Method"');
      if (entry.method === undefined) fail("entry has no `method` (a rule generated for this method path)");
      if (entry.method !== path) fail(`method ${JSON.stringify(entry.method)} differs from its key`);
      if (!(kind.extractor in entry) && other.extractor in entry) {
        fail(
          `an ${other.rule} rule (it has ${other.extractor}, not ${kind.extractor}): pass ${kind.table} as ${kind.option}, and ${other.table} as ${other.option}`,
        );
      }
      checkRuleFormat(entry.format, fail);
      check(path, entry, fail);
      const existing = merged.get(path);
      if (existing !== undefined && existing.entry !== entry) {
        throw new AuditConfigError(
          `${label}: two different entries for ${path}, in ${label}[${existing.from}] and ${label}[${i}] (two rule files for one method, or two copies of one file)`,
        );
      }
      if (existing === undefined) merged.set(path, { entry, from: i });
    }
  }
  return new Map([...merged].map(([path, { entry }]) => [path, entry]));
}

/** Call kinds a generated rule may name. @internal */
export const METHOD_KINDS: ReadonlySet<string> = new Set([
  "unary",
  "server_streaming",
  "client_streaming",
  "bidi_streaming",
]);

/** An object literal (frozen or not) or one made by `Object.create(null)`; not a Map, array or class instance. */
function isPlainObject(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
