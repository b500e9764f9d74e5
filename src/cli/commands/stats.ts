import type { Command } from "commander";
import { withAnyStore } from "../any-store.js";
import { addFilterOptions, type FilterFlags, filterFromFlags } from "../filter-options.js";
import { formatStats } from "../format-stats.js";
import { print, printJson } from "../output.js";
import { dbOption } from "../store-access.js";

interface StatsFlags extends FilterFlags {
  db: string;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ grpc-audit stats                        counts over every event
  $ grpc-audit stats --from 24h --json      the last day, as JSON
  $ grpc-audit stats --type authz.decision  decisions only`;

/** `grpc-audit stats`: counts by type, result, authz decision, top operations and hour. */
export function addStatsCommand(program: Command): void {
  const command = program
    .command("stats")
    .description("count events by type, result, authz decision, operation and hour")
    .addOption(dbOption());
  addFilterOptions(command)
    .option("--json", "print the counts as one JSON document")
    .addHelpText("after", EXAMPLES)
    .action((flags: StatsFlags) =>
      withAnyStore(flags.db, { readonly: true }, async (store) => {
        const stats = await store.stats(filterFromFlags(flags));
        if (flags.json === true) printJson(stats);
        else print(formatStats(stats));
      }),
    );
}
