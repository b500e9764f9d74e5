import { INVALID } from "./scalars.js";

/**
 * The problems of a reading for capture, and where in the message they are: values are never echoed,
 * they may be secrets, only their path and type.
 */

/**
 * What went wrong while reading a message for capture: each value of the wrong type, out of range or
 * unreadable is left out and counted, and the first five are described by path and type, never by
 * value (a skipped value may be a secret). Start with `{ count: 0, first: [] }`.
 */
export interface PayloadProblems {
  /** Values skipped. */
  count: number;
  /** The first few problems, such as "owner.credential.kind: not a valid enum". */
  readonly first: string[];
}

/** Problems listed in PayloadProblems.first; the rest are only counted. */
const LISTED_PROBLEMS = 5;

/**
 * Where a message is, from the top (undefined): made into text only for a problem listed, as most
 * readings have none (a text made for every field and list element read was mostly thrown away).
 * @internal
 */
export type Path = { readonly up: Path; readonly step: Step } | undefined;
/** A field's .proto name, a list element's index, or MAP_VALUE. @internal */
export type Step = string | number;
/** The step to a map value: keys are not named, they may be secrets too. @internal */
export const MAP_VALUE = "[]";

/** Steps shown at each end of a path deeper than twice this; the ones between are counted. */
const SHOWN_STEPS = 8;

/** "owner.credentials[2].kind"; a deep path (up to 100 messages) as its ends around "…(N more)…". */
function pathText(path: Path): string {
  const steps: Step[] = [];
  for (let at = path; at !== undefined; at = at.up) steps.push(at.step);
  steps.reverse();
  if (steps.length <= 2 * SHOWN_STEPS) return stepsText(steps);
  const hidden = steps.length - 2 * SHOWN_STEPS;
  return `${stepsText(steps.slice(0, SHOWN_STEPS))}…(${hidden} more)…${stepsText(steps.slice(-SHOWN_STEPS))}`;
}

function stepsText(steps: readonly Step[]): string {
  let text = "";
  for (const step of steps) {
    if (typeof step === "number") text += `[${step}]`;
    else if (step === MAP_VALUE || text === "") text += `${step}`;
    else text += `.${step}`;
  }
  return text;
}

/** Reports a problem; INVALID, for a value left out. @internal */
export function invalid(
  problems: PayloadProblems,
  path: Path,
  step: Step | undefined,
  problem: string,
): typeof INVALID {
  report(problems, path, step, problem);
  return INVALID;
}

/** Reports a problem; undefined, for a field left out. @internal */
export function invalidField(problems: PayloadProblems, path: Path, step: Step, problem: string): undefined {
  report(problems, path, step, problem);
  return undefined;
}

/** Counts a problem at `path` (then `step`, when given), and lists the first few. @internal */
export function report(problems: PayloadProblems, path: Path, step: Step | undefined, problem: string): void {
  problems.count++;
  if (problems.first.length >= LISTED_PROBLEMS) return;
  problems.first.push(`${pathText(step === undefined ? path : { up: path, step })}: ${problem}`);
}

/** Names a value's type only: values are never echoed, they may be secrets. @internal */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  if (value instanceof Date) return "a Date";
  return typeof value;
}
