import { type Command, Option } from "commander";
import { withAnyStore } from "../any-store.js";
import { usageError } from "../errors.js";
import { print, printJson } from "../output.js";
import { dbOption } from "../store-access.js";
import { TIME_FORMS, timeArgument } from "../time.js";

interface PruneFlags {
  db: string;
  before: Date;
  dryRun?: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ grpc-audit prune --before 90d --dry-run      how many events are older than 90 days
  $ grpc-audit prune --before 2026-01-01         delete events from before 2026 (UTC)`;

/** `grpc-audit prune`: deletes events older than a time and prints how many. */
export function addPruneCommand(program: Command): void {
  program
    .command("prune")
    .description("delete events that occurred before a time; prints the number deleted")
    .addOption(dbOption())
    .addOption(
      new Option("--before <time>", `delete events before this time: ${TIME_FORMS}`)
        .argParser(timeArgument)
        .makeOptionMandatory(),
    )
    .option("--dry-run", "only count the events that would be deleted")
    .option("--json", 'print { "deleted": n, "before": time, "dryRun": bool }')
    .addHelpText("after", EXAMPLES)
    .action((flags: PruneFlags) => {
      // A time in the future would delete events still being written: almost surely a typo.
      if (flags.before.getTime() > Date.now())
        throw usageError(
          "--before <time>",
          `is ${flags.before.toISOString()}, in the future: prune deletes every event before it, so give a past time`,
        );
      return withAnyStore(flags.db, { readonly: flags.dryRun === true }, async (store) => {
        const dryRun = flags.dryRun === true;
        const deleted = dryRun
          ? (await store.stats({ to: flags.before })).total
          : await store.prune({ before: flags.before });
        const before = flags.before.toISOString();
        if (flags.json === true) printJson({ deleted, before, dryRun });
        else
          print(
            `${deleted} event${deleted === 1 ? "" : "s"} ${dryRun ? "would be deleted" : "deleted"} (occurred before ${before})`,
          );
      });
    });
}
