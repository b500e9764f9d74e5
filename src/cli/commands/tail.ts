import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import { unlessAborted } from "../../delivery/unless-aborted.js";
import { eventToJson } from "../../event/serialize.js";
import { type CliStore, withAnyStore } from "../any-store.js";
import { isConnectionLost } from "../connection-lost.js";
import { toCliError } from "../errors.js";
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
    .action(async (flags: TailFlags) => {
      const stopped = new AbortController();
      const stop = () => stopped.abort();
      // `on`, not `once`: a second Ctrl-C while the first is handled must not kill the process.
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      try {
        await withAnyStore(flags.db, { readonly: true }, (store) => follow(store, flags, stopped.signal));
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}

/**
 * Prints new events until `stop` is aborted, checked before each event. A stored event that cannot be
 * decoded is reported on stderr (and shown as an error row in the table) and skipped; following goes
 * on, and the command ends with exit code 1. A lost connection to the store's server (a restart) is
 * reported once and read again every interval, from where it was.
 */
async function follow(store: CliStore, flags: TailFlags, stop: AbortSignal): Promise<void> {
  // Awaited: a reader slower than the store (a pipe) holds the follower back instead of its memory,
  // but never past a stop.
  const show = async (entry: Listed) => {
    if ("undecodable" in entry) reportUndecodable(entry.undecodable);
    if (flags.json !== true) await unlessAborted(print(formatLine(listedCells(entry), TAIL_WIDTHS)), stop);
    else if ("event" in entry) await unlessAborted(printJson(eventToJson(entry.event)), stop);
  };
  let undecodable = 0;
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
  let lost = false;
  while (!stop.aborted) {
    try {
      for (;;) {
        const batch = await store.tail(lastSeq);
        if (lost) process.stderr.write(`tail: ${store.name} is back, following from row ${lastSeq}\n`);
        lost = false;
        for (const entry of inPageOrder(batch.events, batch.undecodable)) {
          if (stop.aborted) break;
          await show(entry);
        }
        undecodable += batch.undecodable?.length ?? 0;
        // Lets a signal in: while a reader keeps up, no write waits, and a backlog would be read and
        // printed to its end without the event loop ever seeing SIGINT.
        await nextTurn();
        if (stop.aborted || batch.lastSeq === lastSeq) break;
        lastSeq = batch.lastSeq;
      }
    } catch (error) {
      if (!isConnectionLost(error)) throw error;
      if (!lost) {
        const message = toCliError(error, store.name).message;
        process.stderr.write(`error: ${message} (reading again every ${flags.intervalMs} ms)\n`);
      }
      lost = true;
    }
    await sleep(flags.intervalMs, undefined, { signal: stop }).catch(() => undefined);
  }
  if (undecodable > 0) throw undecodableError(undecodable);
}

function intervalArgument(text: string): number {
  const ms = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(ms >= 50 && ms <= 60_000)) throw new InvalidArgumentError("Use an integer from 50 to 60000.");
  return ms;
}
