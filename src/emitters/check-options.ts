import { AuditConfigError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";

/**
 * The checks every emitter factory runs on its options before it builds anything: each throws an
 * AuditConfigError that names the emitter (`label`) and the option.
 * @internal
 */
export function checkOptionsObject(label: string, options: unknown): void {
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError(`${label}: options must be an object`);
  }
}

/** `name` is absent or a non-empty string: it names the emitter in stats and errors. @internal */
export function checkName(label: string, name: unknown): void {
  if (name !== undefined && (typeof name !== "string" || name === "")) {
    throw new AuditConfigError(`${label}: name must be a non-empty string, got ${shown(name)}`);
  }
}

/** `onError` is absent or a function: anything else would swallow every report. @internal */
export function checkOnError(label: string, onError: unknown): void {
  if (onError !== undefined && typeof onError !== "function") {
    throw new AuditConfigError(`${label}: onError must be a function, got ${shown(onError)}`);
  }
}
