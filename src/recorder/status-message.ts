import { types } from "node:util";
import { AuditConfigError } from "../errors/index.js";
import { MAX_FIELD_BYTES, truncateText } from "../event/limits.js";
import type { RecordContext, StatusMessagePolicy } from "../event/record-context.js";

export type { StatusMessagePolicy };

/** What each match of a redaction pattern is replaced with. */
export const REDACTED = "[redacted]";

const POLICIES: readonly string[] = ["omit", "truncate", "record"] satisfies StatusMessagePolicy[];

/** A rewrite of one text, or undefined where the text is kept as it is. */
export type Rewrite = ((text: string) => string) | undefined;

/** What the Recorder does to the text it is given, resolved once from its options. */
export interface TextRewrites {
  /** Replaces every match of `redactPatterns` with "[redacted]"; undefined when there are none. */
  redact: Rewrite;
  /** The status message rewrite of each policy, each redacting first. */
  statusMessage: Readonly<Record<StatusMessagePolicy, Rewrite>>;
  /** The policy of events whose input names none: the `statusMessages` option, else "truncate". */
  defaultPolicy: StatusMessagePolicy;
}

/**
 * The Recorder's rewrites for its `statusMessages` and `redactPatterns` options. Only non-empty
 * status messages are rewritten, so successful calls cost nothing. Throws an AuditConfigError for a
 * policy it does not know or a pattern that is not a RegExp, or that matches the empty string.
 */
export function textRewrites(policy: unknown, patterns: unknown): TextRewrites {
  if (policy !== undefined && !POLICIES.includes(policy as string)) {
    throw new AuditConfigError('createRecorder: `statusMessages` must be "omit", "truncate" or "record"');
  }
  const redact = redaction(patterns);
  return {
    redact,
    statusMessage: {
      omit: () => "",
      // Redacted first, so a secret across the cut leaves no piece behind.
      truncate:
        redact === undefined
          ? (message) => truncateText(message, MAX_FIELD_BYTES)
          : (message) => truncateText(redact(message), MAX_FIELD_BYTES),
      record: redact,
    },
    defaultPolicy: (policy as StatusMessagePolicy | undefined) ?? "truncate",
  };
}

/**
 * The Recorder's default rewrite of status messages, or undefined when it keeps them as they are
 * ("record" without patterns). Throws as `textRewrites` does.
 */
export function statusMessageRewrite(policy: unknown, patterns: unknown): Rewrite {
  const rewrites = textRewrites(policy, patterns);
  return rewrites.statusMessage[rewrites.defaultPolicy];
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

/**
 * Rewrites the status message of a checked input (the Recorder's own copy) in place, by the input's
 * own `statusMessages` policy, else the Recorder's.
 */
export function rewriteStatusMessage(input: RecordContext, rewrites: TextRewrites): void {
  const result = input.result;
  if (result?.message === undefined || result.message === "") return;
  const rewrite = rewrites.statusMessage[input.statusMessages ?? rewrites.defaultPolicy];
  if (rewrite !== undefined) result.message = rewrite(result.message);
}
