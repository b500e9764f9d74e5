import { type Command, InvalidArgumentError, Option } from "commander";
import { eventToJson } from "../../event/serialize.js";
import type { AuditPage } from "../../store/audit-store.js";
import { decodeCursor } from "../../store/page-cursor.js";
import type { AuditQuery } from "../../store/query.js";
import { type CliStore, withAnyStore } from "../any-store.js";
import { usageError } from "../errors.js";
import { addFilterOptions, type FilterFlags, filterFromFlags } from "../filter-options.js";
import { columnWidths, EVENT_COLUMNS, formatLine, formatTable, widenColumns } from "../format.js";
import { jsonText, print, printJson, write } from "../output.js";
import { dbOption } from "../store-access.js";
import { inPageOrder, listedCells, reportUndecodable, undecodableError } from "../undecodable.js";

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
      withAnyStore(flags.db, { readonly: true }, (store) => runQuery(store, flags)),
    );
}

/**
 * Prints the events; a stored event that cannot be decoded is reported on stderr and skipped (in
 * the table it is also an error row in its place), and the command then ends with exit code 1.
 * Every format prints each page as it is read, waiting for a slow reader (a pipe) to take it, so
 * that `--all` holds one page in memory: the table's columns fit the first page, and widen from a
 * later row that needs more (a table of every row first took ~2.5 KB per event, and ran out of
 * memory past two million).
 */
async function runQuery(store: CliStore, flags: QueryFlags): Promise<void> {
  const filter = filterFromFlags(flags);
  if (flags.cursor !== undefined) checkCursor(flags.cursor);
  let widths: number[] | undefined;
  let listedEvents = 0;
  let nextCursor: string | undefined;
  let undecodable = 0;
  let printed = 0;
  let pages = 0;
  for await (const page of readPages(store, filter, flags)) {
    // The same bytes as printJson({ events, nextCursor }), written an event at a time; begun only
    // once a page is read, so that a filter the store refuses prints nothing.
    if (flags.json === true && pages++ === 0) await write('{"events":[');
    for (const row of page.undecodable ?? []) reportUndecodable(row);
    undecodable += page.undecodable?.length ?? 0;
    if (flags.ndjson === true) for (const event of page.events) await printJson(eventToJson(event));
    else if (flags.json === true) {
      for (const event of page.events)
        await write(`${printed++ === 0 ? "" : ","}${jsonText(eventToJson(event))}`);
    } else {
      const listed = inPageOrder(page.events, page.undecodable);
      listedEvents += listed.filter((entry) => "event" in entry).length;
      const rows = listed.map(listedCells);
      if (widths === undefined) {
        widths = columnWidths(EVENT_COLUMNS, rows);
        await print(formatTable(EVENT_COLUMNS, rows, widths));
      } else if (rows.length > 0) {
        const fitting = widths;
        widenColumns(fitting, rows);
        await print(rows.map((row) => formatLine(row, fitting)).join("\n"));
      }
    }
    nextCursor = page.nextCursor;
  }
  if (flags.json === true) await print(`],"nextCursor":${jsonText(nextCursor ?? null)}}`);
  else if (flags.ndjson !== true) {
    const counted = `${listedEvents} event${listedEvents === 1 ? "" : "s"}${undecodable === 0 ? "" : `, ${undecodable} unreadable`}`;
    await print(
      nextCursor === undefined ? `(${counted})` : `(${counted}; more with --cursor ${nextCursor}, or --all)`,
    );
  }
  if (undecodable > 0) throw undecodableError(undecodable);
}

/** The first page, or with --all every page, following the cursors. */
async function* readPages(store: CliStore, filter: AuditQuery, flags: QueryFlags): AsyncGenerator<AuditPage> {
  let cursor = flags.cursor;
  for (;;) {
    const page = await store.query(filter, {
      limit: flags.limit,
      ...(cursor === undefined ? {} : { cursor }),
    });
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
