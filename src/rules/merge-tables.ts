import { AuditConfigError } from "../errors/index.js";
import { checkRuleFormat } from "./rule-format.js";

/**
 * Merges generated per-file tables keyed by full method path into one map, checking each entry's
 * `format` and then the entry with `check` (both throw an AuditConfigError): a rule of a newer format
 * is refused before older checks judge its other fields. The same entry may appear twice (one table
 * imported twice); two different entries for one path throw. `label` names the tables in errors ("rules").
 * @internal
 */
export function mergeTables<T extends { readonly method: string; readonly format?: number }>(
  label: string,
  tables: Readonly<Record<string, T>> | readonly Readonly<Record<string, T>>[],
  check: (path: string, entry: T, fail: (problem: string) => never) => void,
): ReadonlyMap<string, T> {
  const list = Array.isArray(tables) ? tables : [tables];
  const merged = new Map<string, T>();
  for (const [i, table] of list.entries()) {
    // A Map or an array is an object too, but its entries are not its own keys: it would add no rules.
    if (!isPlainObject(table)) {
      throw new AuditConfigError(`${label}[${i}] must be a table (an object keyed by method path)`);
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
      checkRuleFormat(entry.format, fail);
      check(path, entry, fail);
      const existing = merged.get(path);
      if (existing !== undefined && existing !== entry) {
        throw new AuditConfigError(`${label}: two different entries for ${path}`);
      }
      merged.set(path, entry);
    }
  }
  return merged;
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
