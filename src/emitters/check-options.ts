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

// `name` is checked as the brokers check theirs.
export { checkName } from "../errors/option-checks.js";

/** `onError` is absent or a function: anything else would swallow every report. @internal */
export function checkOnError(label: string, onError: unknown): void {
  if (onError !== undefined && typeof onError !== "function") {
    throw new AuditConfigError(`${label}: onError must be a function, got ${shown(onError)}`);
  }
}
