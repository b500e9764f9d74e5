import { type Command, Option } from "commander";
import { print, printJson } from "../output.js";
import { dbOption, withStore } from "../store-access.js";
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
    .action((flags: PruneFlags) =>
      withStore(flags.db, { readonly: flags.dryRun === true }, (store) => {
        const dryRun = flags.dryRun === true;
        const deleted = dryRun
          ? store.stats({ to: flags.before }).total
          : store.prune({ before: flags.before });
        const before = flags.before.toISOString();
        if (flags.json === true) printJson({ deleted, before, dryRun });
        else
          print(
            `${deleted} event${deleted === 1 ? "" : "s"} ${dryRun ? "would be deleted" : "deleted"} (occurred before ${before})`,
          );
      }),
    );
}
