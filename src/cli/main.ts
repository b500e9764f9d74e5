#!/usr/bin/env node
// The grpc-audit command: demo, tail, query, stats, prune, verify, ingest, ui. Each command lives in ./commands/.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { redact } from "../postgres/connection-string.js";
import { isPostgresUrl } from "./any-store.js";
import { addDemoCommand } from "./commands/demo.js";
import { addIngestCommand } from "./commands/ingest.js";
import { addPruneCommand } from "./commands/prune.js";
import { addQueryCommand } from "./commands/query.js";
import { addStatsCommand } from "./commands/stats.js";
import { addTailCommand } from "./commands/tail.js";
import { addUiCommand } from "./commands/ui.js";
import { addVerifyCommand } from "./commands/verify.js";
import { CliError, EXIT_FAILURE, EXIT_USAGE } from "./errors.js";
import { exitWhenWritten } from "./exit-when-written.js";
import { holdsKeyText } from "./verify-options.js";
import {
  HIDDEN_VALUE,
  holdsCredentials,
  storeHoldsCredentials,
  urlHoldsCredentials,
  withoutCredentials,
} from "./without-credentials.js";

// This package's version: package.json is two folders up from src/cli/ and from dist/cli/ alike.
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/**
 * `text` with every value given that holds credentials replaced whole by how it may be shown
 * (`shownAs`): the last guard of error lines. A value of --db, --to or GRPC_AUDIT_DB is
 * checked as a store, of --from as a broker list, any other as a URL (`user:alice@example.com` is none).
 */
function hideGivenSecrets(text: string): string {
  const argv = process.argv.slice(2);
  const given: [option: string | undefined, value: string][] = argv.map((arg, index) => {
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    return equals === -1 ? [argv[index - 1], arg] : [arg.slice(0, equals), arg.slice(equals + 1)];
  });
  given.push(["--db", process.env.GRPC_AUDIT_DB ?? ""]);
  let shown = text;
  for (const [option, value] of given) {
    const hidden = shownAs(option, value);
    if (hidden !== value) shown = shown.replaceAll(value, hidden);
  }
  return shown;
}

/**
 * How `value`, given after `option`, is shown. A postgres:// store as the store names itself, without
 * its password and query (`postgres://audit@db/audit`; one without either as it is): every line names
 * one store one way. Any other value with credentials by its `withoutCredentials` form.
 */
function shownAs(option: string | undefined, value: string): string {
  const store = option === "--db" || option === "--to";
  const named = store && isPostgresUrl(value) ? redact(value) : undefined;
  if (named !== undefined) return named;
  if (!givenHoldsCredentials(option, value)) return value;
  const hidden = withoutCredentials(value);
  return hidden === value ? HIDDEN_VALUE : hidden;
}

/** Whether `value`, given after `option`, holds credentials (see `hideGivenSecrets`). */
function givenHoldsCredentials(option: string | undefined, value: string): boolean {
  if (option === "--db" || option === "--to") return storeHoldsCredentials(value);
  // A key's PEM text (or its lines) pasted in place of the file's path: a private key, perhaps.
  if (option === "--public-key") return holdsKeyText(value);
  if (option === "--from") return holdsCredentials(value);
  return urlHoldsCredentials(value);
}

const program = new Command()
  .name("grpc-audit")
  .version(version, "-V, --version", "print the version of grpc-audit")
  // The program's options only before a command: after one, `-V` is a value (`--request-id -V`).
  .enablePositionalOptions()
  .description("Look at the audit trail recorded by grpc-audit, or run the demo that records one.")
  // Set before the commands are added, so that they inherit them: errors throw instead of exiting,
  // and commander's own messages (which repeat a bad value) hide the passwords given.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(hideGivenSecrets(text)) })
  .addHelpText(
    "after",
    "\nStart with `grpc-audit demo`, then `grpc-audit query` and `grpc-audit stats`.\n" +
      "Every command but ingest reads --db (default ./audit.db, or GRPC_AUDIT_DB); ingest writes to --to.",
  );
addDemoCommand(program);
addTailCommand(program);
addQueryCommand(program);
addStatsCommand(program);
addPruneCommand(program);
addVerifyCommand(program);
addIngestCommand(program);
addUiCommand(program);

// `grpc-audit query | head` closes stdout early: that is not an error. Any other write error (a full
// disk, /dev/full) ends the command with one line, as every error does, and nothing more is written.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  process.stderr.write(`error: cannot write the output: ${error.message}\n`);
  process.exit(EXIT_FAILURE);
});

// `ingest` and `tail` end the process explicitly (a socket the NATS client leaves open, a reader that
// stopped taking their output would keep it running); here, not in the commands, which tests also run
// in process.
let command: string | undefined;
program.hook("preAction", (_program, actionCommand) => {
  command = actionCommand.name();
});

program
  .parseAsync()
  .catch((error: unknown) => {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(hideGivenSecrets(`error: ${message}\n`));
    process.exitCode = error instanceof CliError ? error.exitCode : EXIT_FAILURE;
  })
  .finally(() => {
    if (command === "ingest" || command === "tail") exitWhenWritten();
  });
