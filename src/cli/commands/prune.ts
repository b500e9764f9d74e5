import { type Command, Option } from "commander";
import { plural } from "../../errors/plural.js";
import type { PruneReport } from "../../store/prune-plan.js";
import { withAnyStore } from "../any-store.js";
import { usageError } from "../errors.js";
import { print, printJson } from "../output.js";
import { dbOption } from "../store-access.js";
import { TIME_FORMS, timeArgument } from "../time.js";

interface PruneFlags {
  db: string;
  before: Date;
  cutChains?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

const EXAMPLES = `
Examples:
  $ grpc-audit prune --before 90d --dry-run      how many events are older than 90 days
  $ grpc-audit prune --before 2026-01-01         delete events from before 2026 (UTC), chains kept verifiable
  $ grpc-audit prune --before 2026-01-01 --cut-chains
                                                 every event from before 2026, checkpoints included`;

/** `grpc-audit prune`: deletes events older than a time and prints how many, and how many it kept. */
export function addPruneCommand(program: Command): void {
  program
    .command("prune")
    .description(
      "delete events that occurred before a time, each chain cut at a signed checkpoint; prints the number deleted and kept",
    )
    .addOption(dbOption())
    .addOption(
      new Option("--before <time>", `delete events before this time: ${TIME_FORMS}`)
        .argParser(timeArgument)
        .makeOptionMandatory(),
    )
    .option(
      "--cut-chains",
      "delete every event before the time, checkpoints included (verify then reports the chains' missing seqs)",
    )
    .option("--dry-run", "only count the events that would be deleted")
    .option("--json", 'print { "deleted": n, "kept": {...}, "before": time, "dryRun": bool, ... }')
    .addHelpText("after", EXAMPLES)
    .action((flags: PruneFlags) => {
      // A time in the future would delete events still being written: almost surely a typo.
      if (flags.before.getTime() > Date.now())
        throw usageError(
          "--before <time>",
          `is ${flags.before.toISOString()}, in the future: prune deletes every event before it, so give a past time`,
        );
      const dryRun = flags.dryRun === true;
      const cutChains = flags.cutChains === true;
      return withAnyStore(flags.db, { readonly: dryRun }, async (store) => {
        const report = await store.pruneReport({ before: flags.before, cutChains, dryRun });
        const before = flags.before.toISOString();
        if (flags.json === true) await printJson({ ...report, before, dryRun, cutChains });
        else for (const line of describe(report, before, dryRun, cutChains)) await print(line);
      });
    });
}

/** The report in lines: what went, what stayed and why, and what verify will say. */
function describe(report: PruneReport, before: string, dryRun: boolean, cutChains: boolean): string[] {
  const { deleted, kept } = report;
  const lines = [
    `${plural(deleted, "event")} ${dryRun ? "would be deleted" : "deleted"} (occurred before ${before})`,
  ];
  if (cutChains) {
    lines.push("chains were cut where the time fell: verify reports their deleted seqs as missing");
    return lines;
  }
  if (report.anchoredChains > 0) {
    lines.push(
      `${plural(report.anchoredChains, "chain")} cut right before a signed checkpoint that stays: verify notes the deleted seqs as pruned`,
    );
  }
  if (report.wholeChains > 0) {
    lines.push(
      `${plural(report.wholeChains, "chain")} deleted whole, every event of ${report.wholeChains === 1 ? "it" : "them"} older: nothing of ${report.wholeChains === 1 ? "it" : "them"} is left to verify`,
    );
  }
  if (report.unsignedChains > 0) {
    lines.push(
      `${plural(report.unsignedChains, "chain")} without checkpoints cut by time: verify reports their deleted seqs as missing from seq 1`,
    );
  }
  if (report.unchained > 0) {
    lines.push(`${report.unchained} of them without a chain (or unreadable), by time alone`);
  }
  const reasons = [
    kept.anchors > 0 ? `${plural(kept.anchors, "checkpoint")} a pruned chain starts from` : "",
    kept.afterLastCheckpoint > 0
      ? `${kept.afterLastCheckpoint} that no checkpoint their chain can be cut at follows yet (a chain is cut at its last checkpoint before that time and before its first missing seq; a later prune deletes them once one follows them: a backlog still to come fills a gap, a hand-deleted seq never does, and a chain whose server was killed gets no final checkpoint, so its last events stay)`
      : "",
    kept.behindNewer > 0
      ? `${kept.behindNewer} stamped earlier than a newer event before them in their chain`
      : "",
    (kept.arrived ?? 0) > 0
      ? `${kept.arrived} stored while the prune ran, or after such an event in their chain (the next prune deletes them)`
      : "",
  ].filter((text) => text !== "");
  const total = kept.anchors + kept.afterLastCheckpoint + kept.behindNewer + (kept.arrived ?? 0);
  if (total > 0) {
    lines.push(
      `${plural(total, "older event")} ${dryRun ? "would be " : ""}kept: ${reasons.join("; ")}; --cut-chains deletes them`,
    );
  }
  return lines;
}
