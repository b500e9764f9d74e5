import { AuditConfigError } from "../errors/index.js";
import { shown } from "../errors/option-checks.js";
import { rejectUnknownOptions } from "../errors/unknown-options.js";
import type { Emitter } from "./emitter.js";
import { createLogEmitter, type LogEmitterOptions } from "./log-emitter.js";
import { createNoopEmitter, NOOP_OPTION_NAMES } from "./noop-emitter.js";

/** An emitter described as data (for configuration files and the CLI); `kind` picks the emitter. */
export type EmitterSpec = ({ kind: "log" } & LogEmitterOptions) | { kind: "noop"; name?: string };

const KINDS = ["log", "noop"] as const;

/**
 * True when `value` has every method of the Emitter interface.
 * @internal
 */
export function isEmitter(value: unknown): value is Emitter {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.name === "string" &&
    ["emit", "flush", "close", "stats"].every((method) => typeof candidate[method] === "function")
  );
}

/**
 * Returns `spec` when it already is an Emitter, else builds the emitter it describes, with `onError`
 * (the Recorder's) where the spec gives none, so its failures are heard. Throws an AuditConfigError
 * naming `path` for an unknown kind or bad options; never falls back to another sink.
 * @internal
 */
export function createEmitter(
  spec: Emitter | EmitterSpec,
  path = "emitter",
  onError?: (error: Error) => void,
): Emitter {
  if (isEmitter(spec)) return spec;
  if (typeof spec !== "object" || spec === null || !("kind" in spec)) {
    throw new AuditConfigError(
      `${path}: must be an Emitter or an object with a \`kind\` (${KINDS.join(", ")})`,
    );
  }
  try {
    switch (spec.kind) {
      case "log": {
        const { kind: _kind, ...options } = spec;
        return createLogEmitter(
          options.onError === undefined && onError !== undefined ? { ...options, onError } : options,
        );
      }
      case "noop": {
        const { kind: _kind, ...options } = spec;
        rejectUnknownOptions("noop emitter", options, NOOP_OPTION_NAMES);
        return createNoopEmitter(spec.name === undefined ? {} : { name: spec.name });
      }
      default:
        throw new AuditConfigError(
          `unknown kind ${shown((spec as { kind: unknown }).kind)}; known kinds: ${KINDS.join(", ")}`,
        );
    }
  } catch (error) {
    if (error instanceof AuditConfigError)
      throw new AuditConfigError(`${path}: ${error.message}`, { cause: error });
    throw error;
  }
}
