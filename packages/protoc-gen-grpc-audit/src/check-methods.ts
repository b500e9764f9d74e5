/**
 * What the audit and the authz checks share: walking every method of a file with its own option and
 * its service's default, prefixing each problem with file and method, and overlaying a method's fields
 * on the default's.
 */
import type { DescExtension, DescFile, DescMethod, DescService } from "@bufbuild/protobuf";
import {
  type RuleOptions,
  readMethodRule,
  readServiceDefault,
  unknownFieldProblem,
  unknownFields,
} from "./read-rules.js";

/**
 * What a check makes of one method: a rule to generate, the problems that keep it from being generated,
 * "off" (it has a rule that generates nothing, such as a disabled audit rule) or "none" (no rule at all).
 */
export type MethodResult<R> =
  | { readonly rule: R }
  | { readonly problems: readonly string[] }
  | "off"
  | "none";

/** Rules of one file in declaration order, and every problem found in it. */
export interface FileRules<R> {
  readonly rules: readonly R[];
  /** One line each: `<file>: <service>.<method>: <option path>: <reason>`. */
  readonly problems: readonly string[];
}

/** The rules and problems of one file, and the methods without a rule. */
export interface MethodResults<R> extends FileRules<R> {
  /** Methods that have no rule, as `<service>.<method>`. */
  readonly unruled: readonly string[];
}

/**
 * Runs `check` on every method of `file`, in declaration order, with the fields of its own option and
 * of its service's default option (undefined when absent, and always when `options` is undefined
 * because no file declares them).
 */
export function checkMethods<F, R>(
  file: DescFile,
  options: RuleOptions<F> | undefined,
  check: (method: DescMethod, own: F | undefined, serviceDefault: F | undefined) => MethodResult<R>,
): MethodResults<R> {
  const rules: R[] = [];
  const problems: string[] = [];
  const unruled: string[] = [];
  for (const service of file.services) {
    const serviceDefault = options && readServiceDefault(service, options);
    if (options !== undefined) {
      problems.push(
        ...unknownProblems(service, options.service, options).map(
          (p) => `${file.proto.name}: ${service.typeName}: ${p}`,
        ),
      );
    }
    for (const method of service.methods) {
      const name = `${service.typeName}.${method.name}`;
      if (options !== undefined) {
        problems.push(
          ...unknownProblems(method, options.method, options).map((p) => `${file.proto.name}: ${name}: ${p}`),
        );
      }
      const result = check(method, options && readMethodRule(method, options), serviceDefault);
      if (result === "none") unruled.push(name);
      else if (result === "off") continue;
      else if ("rule" in result) rules.push(result.rule);
      else problems.push(...result.problems.map((problem) => `${file.proto.name}: ${name}: ${problem}`));
    }
  }
  return { rules, problems, unruled };
}

/** One problem per field the option sets that this plugin does not read: it would be dropped. */
function unknownProblems<F>(
  element: DescMethod | DescService,
  extension: DescExtension,
  options: RuleOptions<F>,
): string[] {
  return unknownFields(element, extension, options).map((name) =>
    unknownFieldProblem(extension.typeName, name),
  );
}

/**
 * The rules and problems of `results`, plus, when `required` (a `require_*` plugin option) is on and
 * some methods have no rule, one problem `<file>: <what>: <method>, <method>, …`.
 */
export function requireRules<R>(
  file: DescFile,
  { rules, problems, unruled }: MethodResults<R>,
  required: boolean,
  what: string,
): FileRules<R> {
  if (!required || unruled.length === 0) return { rules, problems };
  return { rules, problems: [...problems, `${file.proto.name}: ${what}: ${unruled.join(", ")}`] };
}

/** A field of the effective rule and the option it came from (the method's when neither sets it). */
export interface Picked<T> {
  readonly value: T | undefined;
  /** `(grpcaudit.v1.audit)` or `(grpcaudit.v1.audit_default)`, as problems name it. */
  readonly option: string;
}

/** Picks fields of the effective rule: the method's own value if set, else the service default's. */
export function overlay<F>(
  own: F | undefined,
  serviceDefault: F | undefined,
  methodOption: string,
  serviceOption: string,
): <K extends keyof F>(key: K) => Picked<F[K]> {
  return (key) => {
    if (own?.[key] !== undefined) return { value: own[key], option: `(${methodOption})` };
    if (serviceDefault?.[key] !== undefined)
      return { value: serviceDefault[key], option: `(${serviceOption})` };
    return { value: undefined, option: `(${methodOption})` };
  };
}

/** The path of a method as gRPC names it: "/example.v1.ProjectService/CreateProject". */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}
