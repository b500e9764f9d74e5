import { type Command, InvalidArgumentError, Option } from "commander";
import type { AuthzOutcome } from "../event/builders.js";
import { EVENT_KINDS, type EventKind } from "../event/kinds.js";
import type { AuditQuery } from "../store/query.js";
import { usageError } from "./errors.js";
import { TIME_FORMS, timeArgument } from "./time.js";

const KINDS: readonly string[] = EVENT_KINDS;
const DECISIONS: readonly AuthzOutcome[] = ["allowed", "denied", "no_rule", "error"];

/** The filter flags as commander parses them. */
export interface FilterFlags {
  from?: Date;
  to?: Date;
  type?: EventKind[];
  actor?: string;
  targetType?: string;
  targetId?: string;
  operation?: string;
  service?: string;
  success?: boolean;
  failure?: boolean;
  decision?: AuthzOutcome;
  requestId?: string;
  traceId?: string;
}

/** Adds the event filter flags shared by `query` and `stats`. */
export function addFilterOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--from <time>", `events at or after this time: ${TIME_FORMS}`).argParser(timeArgument),
    )
    .addOption(
      new Option("--to <time>", "events before this time (same forms as --from)").argParser(timeArgument),
    )
    .addOption(
      new Option("--type <kinds>", `event kinds, comma-separated: ${KINDS.join(", ")}`).argParser(
        kindsArgument,
      ),
    )
    .option("--actor <id>", "events of this actor (the JWT subject, such as alice)")
    .option("--target-type <type>", "events about this kind of resource (project, member)")
    .option("--target-id <id>", "events about this resource id (with --target-type for one resource)")
    .addOption(
      new Option(
        "--operation <path>",
        "events of this full method path (/example.v1.ProjectService/UpdateProject)",
      ).argParser(operationArgument),
    )
    .option("--service <name>", "events recorded by this service")
    .option("--request-id <id>", "the events of one call: the request id its caller got back (x-request-id)")
    .addOption(
      new Option("--trace-id <id>", "the events of one W3C trace (32 lowercase hex digits)").argParser(
        traceIdArgument,
      ),
    )
    .addOption(new Option("--success", "only successful outcomes").conflicts("failure"))
    .addOption(new Option("--failure", "only failed outcomes (refused, denied, errors)"))
    .addOption(
      new Option("--decision <decision>", "only authz decisions with this outcome").choices(DECISIONS),
    );
}

/** The store query the filter flags ask for. */
export function filterFromFlags(flags: FilterFlags): AuditQuery {
  if (flags.from !== undefined && flags.to !== undefined && flags.from.getTime() >= flags.to.getTime()) {
    throw usageError(
      "--from <time>",
      `must be before --to (${flags.from.toISOString()} is not before ${flags.to.toISOString()})`,
    );
  }
  const query: AuditQuery = {};
  if (flags.from !== undefined) query.from = flags.from;
  if (flags.to !== undefined) query.to = flags.to;
  if (flags.type !== undefined) query.type = flags.type;
  if (flags.actor !== undefined) query.actorId = flags.actor;
  if (flags.targetType !== undefined) query.targetType = flags.targetType;
  if (flags.targetId !== undefined) query.targetId = flags.targetId;
  if (flags.operation !== undefined) query.operation = flags.operation;
  if (flags.service !== undefined) query.service = flags.service;
  if (flags.success === true) query.success = true;
  if (flags.failure === true) query.success = false;
  if (flags.decision !== undefined) query.decision = flags.decision;
  if (flags.requestId !== undefined) query.requestId = flags.requestId;
  if (flags.traceId !== undefined) query.traceId = flags.traceId;
  return query;
}

function kindsArgument(text: string): EventKind[] {
  const kinds = text.split(",").map((k) => k.trim());
  if (kinds.some((k) => !KINDS.includes(k))) {
    throw new InvalidArgumentError(`Use one or more of ${KINDS.join(", ")}, separated by commas.`);
  }
  return kinds as EventKind[];
}

function operationArgument(text: string): string {
  if (!/^\/[^/\s]+\/[^/\s]+$/.test(text)) {
    throw new InvalidArgumentError(
      "Use a full method path such as /example.v1.ProjectService/UpdateProject.",
    );
  }
  return text;
}

function traceIdArgument(text: string): string {
  if (!/^[0-9a-f]{32}$/.test(text)) {
    throw new InvalidArgumentError("Use 32 lowercase hex digits, as in a traceparent header.");
  }
  return text;
}
