import { setTimeout as sleep } from "node:timers/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import { eventToJson } from "../../event/serialize.js";
import { type CliStore, withAnyStore } from "../any-store.js";
import { EVENT_COLUMNS, formatLine, TAIL_WIDTHS } from "../format.js";
import { print, printJson } from "../output.js";
import { dbOption } from "../store-access.js";
import {
  inPageOrder,
  type Listed,
  listedCells,
  reportUndecodable,
  undecodableError,
} from "../undecodable.js";

interface TailFlags {
  db: string;
  json?: boolean;
  fromStart?: boolean;
  intervalMs: number;
}

const EXAMPLES = `
Examples:
  $ grpc-audit tail                       new events as table lines, until Ctrl-C
  $ grpc-audit tail --json | jq .actor    new events as JSON lines
  $ grpc-audit tail --from-start          every stored event first, then new ones`;

/** `grpc-audit tail`: prints events as they are stored, until SIGINT or SIGTERM. */
export function addTailCommand(program: Command): void {
  program
    .command("tail")
    .description("follow new events as they are stored, until Ctrl-C")
    .addOption(dbOption())
    .option("--json", "print one JSON line per event (proto3 JSON)")
    .option("--from-start", "print the stored events first, oldest first")
    .addOption(
      new Option("--interval-ms <ms>", "how often to look for new events, 50 to 60000")
        .argParser(intervalArgument)
        .default(500),
    )
    .addHelpText("after", EXAMPLES)
    .action((flags: TailFlags) =>
      withAnyStore(flags.db, { readonly: true }, (store) => follow(store, flags)),
    );
}

/**
 * Prints new events until stopped. A stored event that cannot be decoded is reported on stderr (and
 * shown as an error row in the table) and skipped; following goes on, and the command ends with
 * exit code 1.
 */
async function follow(store: CliStore, flags: TailFlags): Promise<void> {
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // Awaited: a reader slower than the store (a pipe) holds the follower back instead of its memory.
  const show = async (entry: Listed) => {
    if ("undecodable" in entry) reportUndecodable(entry.undecodable);
    if (flags.json !== true) await print(formatLine(listedCells(entry), TAIL_WIDTHS));
    else if ("event" in entry) await printJson(eventToJson(entry.event));
  };
  let undecodable = 0;
  try {
    let lastSeq = flags.fromStart === true ? 0 : await store.lastSeq();
    if (flags.json !== true) {
      print(formatLine(EVENT_COLUMNS, TAIL_WIDTHS));
      print(
        formatLine(
          TAIL_WIDTHS.map((w) => "-".repeat(Math.max(w, 6))),
          TAIL_WIDTHS,
        ),
      );
    }
    process.stderr.write(`following ${store.name} (Ctrl-C to stop)\n`);
    while (!stopped.signal.aborted) {
      for (;;) {
        const batch = await store.tail(lastSeq);
        for (const entry of inPageOrder(batch.events, batch.undecodable)) await show(entry);
        undecodable += batch.undecodable?.length ?? 0;
        if (batch.lastSeq === lastSeq) break;
        lastSeq = batch.lastSeq;
      }
      await sleep(flags.intervalMs, undefined, { signal: stopped.signal }).catch(() => undefined);
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  if (undecodable > 0) throw undecodableError(undecodable);
}

function intervalArgument(text: string): number {
  const ms = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(ms >= 50 && ms <= 60_000)) throw new InvalidArgumentError("Use an integer from 50 to 60000.");
  return ms;
}
