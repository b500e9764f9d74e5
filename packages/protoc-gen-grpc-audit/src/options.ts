/**
 * Parameters of protoc-gen-grpc-audit (`opt:` in buf.gen.yaml, `--grpc-audit_opt` for protoc). The
 * protoplugin parameters (`target`, `import_extension`, `rewrite_imports`, …) are parsed by
 * @bufbuild/protoplugin before these; anything else is an error.
 */
export interface PluginOptions {
  /**
   * Fail when a method of a file to generate has neither its own `(grpcaudit.v1.audit)` nor a
   * service `(grpcaudit.v1.audit_default)`, so that no method is left unaudited by mistake. A disabled
   * rule counts as a rule. Default false.
   */
  readonly requireRules: boolean;
  /**
   * Fail when a method of a file to generate has no authz rule: neither its own `(grpcaudit.v1.authz)`
   * nor a service `(grpcaudit.v1.authz_default)` that is a rule by itself (one with an object-id source
   * or `public: true`). A public rule counts as a rule. Default false.
   */
  readonly requireAuthz: boolean;
}

const defaultOptions: PluginOptions = Object.freeze({ requireRules: false, requireAuthz: false });

/** The options @bufbuild/protoplugin (2.x) parses itself, named in the error for an unknown one. */
export const PROTOPLUGIN_OPTIONS: readonly string[] = [
  "target",
  "import_extension",
  "js_import_style",
  "rewrite_imports",
  "map_imports",
  "keep_empty_files",
  "ts_nocheck",
  "elide_plugin_version",
  "bootstrap_wkt",
];

const BOOLEAN = "true, false, 1 or 0";

/** What protoplugin accepts for the options it refuses without saying why. */
const PROTOPLUGIN_VALUES: ReadonlyMap<string, string> = new Map([
  ["target", 'js, ts or dts, or several joined with "+" (such as ts+dts)'],
  ["import_extension", "none, js or ts"],
  ["js_import_style", "module or legacy_commonjs"],
  ["keep_empty_files", BOOLEAN],
  ["ts_nocheck", BOOLEAN],
  ["elide_plugin_version", BOOLEAN],
  ["bootstrap_wkt", BOOLEAN],
]);

/** protoplugin's PluginOptionError, which it does not export; its node runner prints just the message. */
class PluginOptionError extends Error {
  override name = "PluginOptionError";
}

/**
 * `error` with the values protoplugin accepts added, when it is protoplugin's bare `invalid option
 * "<raw>"` for one of its options in `parameter` (such as `import_extension=mjs`); else `error` itself.
 */
export function explainOptionError(error: unknown, parameter: string): unknown {
  if (!(error instanceof Error) || error.name !== "PluginOptionError") return error;
  const raw = parameter.split(",").find((option) => error.message === `invalid option "${option}"`);
  if (raw === undefined) return error;
  const equals = raw.indexOf("=");
  const key = equals === -1 ? raw : raw.slice(0, equals);
  const accepted = PROTOPLUGIN_VALUES.get(key);
  if (accepted === undefined) return error;
  const value = equals === -1 ? "" : raw.slice(equals + 1);
  return new PluginOptionError(`${error.message}: ${key} must be ${accepted}, got "${value}"`, {
    cause: error,
  });
}

/**
 * Parses the plugin parameters protoplugin does not know. Throws on an unknown key or a bad value;
 * protoplugin reports it as `invalid option "<raw>": <reason>`.
 */
export function parseOptions(raw: readonly { key: string; value: string }[]): PluginOptions {
  const given = new Map<string, boolean>();
  for (const { key, value } of raw) {
    switch (key) {
      case "require_rules":
      case "require_authz": {
        const flag = parseBoolean(key, value);
        // Last-one-wins would let a later `require_rules=false` (a template merged with a default one)
        // silently undo a check someone asked for.
        if (given.has(key) && given.get(key) !== flag) {
          throw new Error(`${key} is given twice, as true and as false; keep one`);
        }
        given.set(key, flag);
        break;
      }
      case "":
        throw new Error('empty option name; remove the extra "," or the "=" without a name');
      default:
        throw new Error(
          `unknown option "${key}" (protoc-gen-grpc-audit accepts require_rules, require_authz, ${PROTOPLUGIN_OPTIONS.join(", ")})`,
        );
    }
  }
  return Object.freeze({
    requireRules: given.get("require_rules") ?? defaultOptions.requireRules,
    requireAuthz: given.get("require_authz") ?? defaultOptions.requireAuthz,
  });
}

function parseBoolean(key: string, value: string): boolean {
  switch (value) {
    case "":
    case "true":
    case "1":
      return true;
    case "false":
    case "0":
      return false;
    default:
      throw new Error(`${key} must be true or false, got "${value}"`);
  }
}
