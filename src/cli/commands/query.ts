import { type Command, InvalidArgumentError, Option } from "commander";
import { eventToJson } from "../../event/serialize.js";
import type { AuditEvent } from "../../gen/grpcaudit/v1/event.js";
import type { AuditStore } from "../../store/audit-store.js";
import { type AuditQuery, decodeCursor } from "../../store/query.js";
import { usageError } from "../errors.js";
import { addFilterOptions, type FilterFlags, filterFromFlags } from "../filter-options.js";
import { formatEventTable } from "../format.js";
import { print, printJson } from "../output.js";
import { dbOption, withStore } from "../store-access.js";

interface QueryFlags extends FilterFlags {
  db: string;
  limit: number;
  cursor?: string;
  all?: boolean;
  json?: boolean;
  ndjson?: boolean;
}

const EXAMPLES = `
Examples:
  $ grpc-audit query --actor alice --json              alice's events as one JSON document
  $ grpc-audit query --target-type project --target-id p-1 --from 7d
                                                       who touched project p-1 in the last week
  $ grpc-audit query --decision denied --from 24h      calls denied today
  $ grpc-audit query --type authn.result --failure     refused credentials
  $ grpc-audit query --all --ndjson > audit.ndjson     every event, one JSON line each`;

/** `grpc-audit query`: events matching the filters, newest first, one page or all of them. */
export function addQueryCommand(program: Command): void {
  const command = program
    .command("query")
    .description("list recorded events matching the filters, newest first")
    .addOption(dbOption());
  addFilterOptions(command)
    .addOption(new Option("--limit <n>", "events per page, 1 to 1000").argParser(limitArgument).default(50))
    .option("--cursor <cursor>", "start after the page that printed this cursor (nextCursor)")
    .option("--all", "follow the cursors and print every matching event")
    .addOption(
      new Option("--json", "print one JSON document: { events: [...], nextCursor }").conflicts("ndjson"),
    )
    .option("--ndjson", "print one JSON line per event (proto3 JSON)")
    .addHelpText("after", EXAMPLES)
    .action((flags: QueryFlags) =>
      withStore(flags.db, { readonly: true }, (store) => runQuery(store, flags)),
    );
}

function runQuery(store: AuditStore, flags: QueryFlags): void {
  const filter = filterFromFlags(flags);
  if (flags.cursor !== undefined) checkCursor(flags.cursor);
  const pages = readPages(store, filter, flags);
  if (flags.ndjson === true) {
    for (const page of pages) for (const event of page.events) printJson(eventToJson(event));
    return;
  }
  const events: AuditEvent[] = [];
  let nextCursor: string | undefined;
  for (const page of pages) {
    events.push(...page.events);
    nextCursor = page.nextCursor;
  }
  if (flags.json === true) {
    printJson({ events: events.map(eventToJson), nextCursor: nextCursor ?? null });
    return;
  }
  print(formatEventTable(events));
  print(
    nextCursor === undefined
      ? `(${events.length} event${events.length === 1 ? "" : "s"})`
      : `(${events.length} events; more with --cursor ${nextCursor}, or --all)`,
  );
}

/** The first page, or with --all every page, following the cursors. */
function* readPages(
  store: AuditStore,
  filter: AuditQuery,
  flags: QueryFlags,
): Generator<{ events: AuditEvent[]; nextCursor: string | undefined }> {
  let cursor = flags.cursor;
  for (;;) {
    const page = store.query(filter, { limit: flags.limit, ...(cursor === undefined ? {} : { cursor }) });
    yield page;
    if (flags.all !== true || page.nextCursor === undefined) return;
    cursor = page.nextCursor;
  }
}

function limitArgument(text: string): number {
  const limit = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= 1000)) throw new InvalidArgumentError("Use an integer from 1 to 1000.");
  return limit;
}

function checkCursor(cursor: string): void {
  try {
    decodeCursor(cursor);
  } catch {
    throw usageError(
      "--cursor <cursor>",
      `argument '${cursor}' is invalid. Use the nextCursor a query printed.`,
    );
  }
}
