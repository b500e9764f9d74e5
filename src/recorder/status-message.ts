import { types } from "node:util";
import { AuditConfigError } from "../errors/index.js";
import { MAX_FIELD_BYTES, truncateText } from "../event/limits.js";
import type { RecordContext } from "../event/record-context.js";

/**
 * What the Recorder keeps of a result's status message: "omit" keeps nothing (""), "truncate" its
 * first 256 UTF-8 bytes (like every other text field; enough to say what failed, little room for data
 * echoed back), "record" up to the 1024 bytes every event's message is cut to.
 */
export type StatusMessagePolicy = "omit" | "truncate" | "record";

/** What each match of a redaction pattern is replaced with. */
export const REDACTED = "[redacted]";

const POLICIES: readonly string[] = ["omit", "truncate", "record"] satisfies StatusMessagePolicy[];

/**
 * The Recorder's rewrite of status messages, or undefined when it keeps them as they are ("record"
 * without patterns). Only non-empty messages are rewritten, so successful calls cost nothing. Throws an AuditConfigError for a
 * policy it does not know or a pattern that is not a RegExp, or that matches the empty string.
 */
export function statusMessageRewrite(
  policy: unknown,
  patterns: unknown,
): ((message: string) => string) | undefined {
  if (policy !== undefined && !POLICIES.includes(policy as string)) {
    throw new AuditConfigError('createRecorder: `statusMessages` must be "omit", "truncate" or "record"');
  }
  if (policy === "omit") return () => "";
  const redact = redaction(patterns);
  if (policy === "record") return redact;
  // "truncate", the default: redacted first, so a secret across the cut leaves no piece behind.
  if (redact === undefined) return (message) => truncateText(message, MAX_FIELD_BYTES);
  return (message) => truncateText(redact(message), MAX_FIELD_BYTES);
}

/** Replaces every match of the patterns, or undefined when there are none. */
function redaction(patterns: unknown): ((message: string) => string) | undefined {
  if (patterns === undefined) return undefined;
  if (!Array.isArray(patterns) || !patterns.every((pattern) => types.isRegExp(pattern))) {
    throw new AuditConfigError("createRecorder: `redactPatterns` must be a list of RegExp");
  }
  const global = patterns.map(globalCopy);
  if (global.length === 0) return undefined;
  return (message) => {
    let redacted = message;
    for (const pattern of global) redacted = redacted.replace(pattern, REDACTED);
    return redacted;
  };
}

/**
 * A copy of `pattern` that replaces every match: the global flag added (a pattern without it replaces
 * only its first match), the sticky one dropped (it would replace only matches that follow each other
 * from the start). Being ours, its `lastIndex` is never shared with the caller's.
 */
function globalCopy(pattern: RegExp, index: number): RegExp {
  const flags = pattern.flags.replace(/[gy]/g, "");
  // A pattern matching "" would put the marker between every character and redact nothing useful.
  if (new RegExp(pattern.source, flags).test("")) {
    throw new AuditConfigError(`createRecorder: \`redactPatterns[${index}]\` matches the empty string`);
  }
  return new RegExp(pattern.source, `${flags}g`);
}

/** Rewrites the status message of a checked input (the Recorder's own copy) in place. */
export function rewriteStatusMessage(input: RecordContext, rewrite: (message: string) => string): void {
  const result = input.result;
  if (result?.message !== undefined && result.message !== "") result.message = rewrite(result.message);
}
