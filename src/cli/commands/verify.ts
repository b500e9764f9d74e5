import type { KeyObject } from "node:crypto";
import type { Command } from "commander";
import {
  CHAIN_FINDING_KINDS,
  type ChainFinding,
  type ChainFindingKind,
  type ChainReport,
  type VerifyReport,
} from "../../chain/index.js";
import { verifyTrail } from "../../chain/verify.js";
import type { PrunedPrefix } from "../../chain/verify-types.js";
import { plural } from "../../errors/plural.js";
import { isPostgresUrl, withAnyStore } from "../any-store.js";
import { usageError } from "../errors.js";
import { print, printJson } from "../output.js";
import { visible } from "../safe-text.js";
import { dbOption } from "../store-access.js";
import { publicKeyOption, sealedOption } from "../verify-options.js";
import {
  checkSqliteIntegrity,
  linesOf,
  logEvents,
  type SourceTally,
  storeEvents,
} from "../verify-sources.js";

interface VerifyFlags {
  db: string;
  log?: string;
  logKey: string;
  publicKey?: ReadonlyMap<string, KeyObject>;
  sealed?: boolean;
  ignoreOrder?: boolean;
  json?: boolean;
}

/**
 * Exit code of `grpc-audit verify` per worst finding: 0 when every chain verifies, 1 and 2 as every
 * command (cannot read, usage), then 3 (unknown_key) to 10 (bad_signature), growing with how serious,
 * and 11 (empty) and 12 (unchained), found with --sealed only. An unreadable stored event or log line
 * counts as `modified`.
 */
export const VERIFY_EXIT_CODES: Readonly<Record<ChainFindingKind, number>> = Object.fromEntries(
  CHAIN_FINDING_KINDS.map((kind, i) => [kind, 3 + i]),
) as Record<ChainFindingKind, number>;

const EXAMPLES = `
Examples:
  $ grpc-audit verify --db audit.db --public-key audit-2026=audit-2026.pub.pem
  $ grpc-audit verify --log /var/log/audit.ndjson --public-key audit-2026=audit-2026.pub.pem --sealed
  $ grpc-audit verify --db audit.db --json                  hashes and links only, as JSON
  $ grpc-audit verify --db postgres://audit@db/audit --public-key audit-2026=audit-2026.pub.pem
                                           every chain (one per server) of a shared store

Exit codes: 0 every chain verifies; 1 the trail cannot be read; 2 bad arguments; else the worst finding:
${CHAIN_FINDING_KINDS.map((kind) => `  ${VERIFY_EXIT_CODES[kind]} ${kind}`).join("\n")}`;

/** `grpc-audit verify`: checks the tamper-evident chains of a store or an NDJSON log. */
export function addVerifyCommand(program: Command): void {
  program
    .command("verify")
    .description(
      "check the tamper-evident chains of a store or log: modified, deleted, reordered, truncated events",
    )
    .addOption(dbOption())
    .option("--log <file>", "read an NDJSON log written by the log emitter instead of the store")
    .option("--log-key <key>", "key of the event in each log line", "audit")
    .addOption(publicKeyOption())
    .addOption(sealedOption())
    .option(
      "--ignore-order",
      "do not report rows stored out of recording order (a SQLite store filled by ingest after a redelivery)",
    )
    .option("--json", "print the report as one JSON document")
    .addHelpText("after", EXAMPLES)
    .action(async (flags: VerifyFlags, command: Command) => {
      if (flags.log !== undefined && command.getOptionValueSource("db") === "cli") {
        throw usageError("--log <file>", "cannot be used with --db: verify reads one trail at a time");
      }
      // An empty key names no field of any line: every line would read as "without an event".
      if (flags.logKey === "")
        throw usageError(
          "--log-key <key>",
          "is empty: give the key the log emitter writes the event under (default: audit)",
        );
      const tally: SourceTally = { unreadable: [], skippedLines: 0 };
      const options = { publicKeys: flags.publicKey ?? new Map(), expectSealed: flags.sealed === true };
      // A store holds each event once; a log or a broker may hold it twice (at-least-once delivery).
      const checked =
        flags.log === undefined
          ? await withAnyStore(flags.db, { readonly: true }, (store) =>
              verifyTrail(storeEvents(store, tally), options, { eventsOnce: true }),
            )
          : await verifyTrail(logEvents(flags.log, flags.logKey, tally), options, {});
      if (flags.log === undefined && !isPostgresUrl(flags.db)) await checkSqliteIntegrity(flags.db, tally);
      const sharedStore = flags.log === undefined && isPostgresUrl(flags.db);
      const orderNotChecked = sharedStore
        ? "a PostgreSQL store is shared by many writers"
        : flags.ignoreOrder === true
          ? "--ignore-order"
          : undefined;
      const ordered =
        orderNotChecked === undefined ? checked : { ...checked, chains: withoutOrder(checked.chains) };
      const report = flags.log === undefined ? ordered : await withLines(ordered, flags.log);
      const worst = worstKind(report.chains, report.findings, tally.unreadable.length > 0);
      const exitCode = worst === undefined ? 0 : VERIFY_EXIT_CODES[worst];
      if (flags.json === true) await printJson({ ...report, ok: exitCode === 0, ...tally, exitCode });
      else await printSummary(report, tally, worst, exitCode, orderNotChecked);
      // An ingester stores a redelivered batch after the ones that came meanwhile: say what to do.
      if (flags.json !== true && worst === "reordered" && flags.log === undefined) {
        await print(
          "Rows out of order are expected in a store filled by `grpc-audit ingest` (a redelivered batch comes late): --ignore-order checks everything else.",
        );
      }
      process.exitCode = exitCode;
    });
}

/** A chain finding, with the log line of its event when it came from a log. */
type LinedFinding = ChainFinding & { line?: number };

/** The report with the log line of each chain finding's event (a second read of the log file). */
async function withLines(report: VerifyReport, path: string): Promise<VerifyReport> {
  const ids = new Set(report.chains.flatMap((chain) => chain.findings.map((f) => f.eventId)));
  ids.delete("");
  const lines = await linesOf(path, ids);
  if (lines.size === 0) return report;
  const lined = (finding: ChainFinding): LinedFinding => {
    const line = lines.get(finding.eventId);
    return line === undefined ? finding : { ...finding, line };
  };
  return {
    ...report,
    chains: report.chains.map((chain) => ({ ...chain, findings: chain.findings.map(lined) })),
  };
}

/**
 * A shared PostgreSQL store holds events in the order ingesters committed them, which is not the
 * order a server recorded them (ingesters share the stream; a redelivered batch comes in late), so
 * the order of its rows is no evidence: every other finding stands.
 */
export function withoutOrder(chains: readonly ChainReport[]): ChainReport[] {
  return chains.map((chain) => ({
    ...chain,
    findings: chain.findings.filter((finding) => finding.kind !== "reordered"),
  }));
}

function worstKind(
  chains: readonly ChainReport[],
  trailFindings: VerifyReport["findings"],
  unreadable: boolean,
): ChainFindingKind | undefined {
  const kinds = new Set<ChainFindingKind>(chains.flatMap((chain) => chain.findings.map((f) => f.kind)));
  for (const finding of trailFindings) kinds.add(finding.kind);
  if (unreadable) kinds.add("modified");
  for (let i = CHAIN_FINDING_KINDS.length - 1; i >= 0; i--) {
    const kind = CHAIN_FINDING_KINDS[i];
    if (kind !== undefined && kinds.has(kind)) return kind;
  }
  return undefined;
}

/** True when the chain's last event is a checkpoint that did not verify (no public key for it, a bad signature). */
function endsUnverified(chain: ChainReport): boolean {
  return (
    chain.unsealed === 0 &&
    chain.findings.some(
      (finding) =>
        finding.seq === chain.lastSeq && (finding.kind === "unknown_key" || finding.kind === "bad_signature"),
    )
  );
}

async function printSummary(
  report: Pick<VerifyReport, "chains" | "findings" | "unchained" | "unusedKeys">,
  tally: SourceTally,
  worst: ChainFindingKind | undefined,
  exitCode: number,
  /** Why the row order was not checked; undefined when it was. */
  orderNotChecked: string | undefined,
): Promise<void> {
  const { chains, unchained } = report;
  for (const chain of chains) {
    const state = chain.sealed
      ? "sealed"
      : chain.checkpoints === 0
        ? "open, unsigned (no checkpoints)"
        : endsUnverified(chain)
          ? `not sealed: the checkpoint it ends in (seq ${chain.lastSeq}) was not verified`
          : `open: ${plural(chain.unsealed, "event")} after the last checkpoint`;
    // The instance tells apart the chains of a service's servers (one chain per Recorder).
    const recordedBy = chain.instance === undefined ? chain.service : `${chain.service} on ${chain.instance}`;
    await print(
      visible(
        `chain ${chain.chainId} (${recordedBy}): ${plural(chain.events, "event")}, seq ${chain.firstSeq}-${chain.lastSeq}, ` +
          `${plural(chain.checkpoints, "checkpoint")} (${chain.verifiedCheckpoints} verified), ${state}` +
          (chain.duplicates > 0 ? `, ${plural(chain.duplicates, "duplicate")} (not a finding)` : ""),
      ),
    );
    if (chain.pruned !== undefined) await print(`  ${visible(describePruned(chain.pruned))}`);
    for (const finding of chain.findings) await print(`  ${visible(describe(finding))}`);
  }
  for (const { kind, eventId, detail } of report.findings) {
    const event = eventId === "" ? "" : `first event ${eventId}: `;
    await print(visible(`${kind.padEnd(13)} ${event}${detail}`));
  }
  for (const { where, reason } of tally.unreadable) await print(visible(`modified ${where}: ${reason}`));
  const extras = [
    unchained > 0 && !report.findings.some((f) => f.kind === "unchained")
      ? `${plural(unchained, "event")} without a chain`
      : "",
    tally.skippedLines > 0 ? `${plural(tally.skippedLines, "log line")} without an event` : "",
    ...(tally.unchecked ?? []),
    orderNotChecked === undefined ? "" : `row order not checked: ${orderNotChecked}`,
    ...report.unusedKeys.map((keyId) => `key ${keyId} signed no checkpoint of the trail`),
  ].filter((text) => text !== "");
  if (extras.length > 0) await print(visible(`(${extras.join("; ")})`));
  const findings =
    chains.reduce((sum, chain) => sum + chain.findings.length, 0) +
    report.findings.length +
    tally.unreadable.length;
  const inChains = `${chains.length} chain${chains.length === 1 ? "" : "s"}`;
  await print(
    worst !== undefined
      ? `NOT verified: ${findings} finding${findings === 1 ? "" : "s"} in ${inChains}; worst ${worst} (exit ${exitCode})`
      : chains.length === 0
        ? "nothing verified: the trail holds no chained event (--sealed makes that a finding)"
        : `verified: ${inChains}, no findings`,
  );
}

function describePruned({ toSeq, anchorSeq, keyId }: PrunedPrefix): string {
  const seqs = toSeq === 1 ? "seq 1" : `seqs 1-${toSeq}`;
  return `${"pruned".padEnd(13)} ${seqs}: anchored by the checkpoint at seq ${anchorSeq}, signed by key ${keyId} (not a finding)`;
}

function describe(finding: LinedFinding): string {
  const seq =
    finding.toSeq !== undefined && finding.toSeq !== finding.seq
      ? `seq ${finding.seq}-${finding.toSeq}`
      : `seq ${finding.seq}`;
  const line = finding.line === undefined ? "" : ` (line ${finding.line})`;
  const event = finding.eventId === "" ? "" : ` event ${finding.eventId}${line}`;
  return `${finding.kind.padEnd(13)} ${seq}${event}: ${finding.detail}`;
}
