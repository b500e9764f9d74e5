import { type Command, Option } from "commander";
import type { OpenFgaTarget } from "../demo/demo-tuples.js";
import { usageError } from "../errors.js";
import { dbOption } from "../store-access.js";

interface DemoFlags {
  db: string;
  log: string;
  keep?: boolean;
  serve?: boolean;
  openfgaUrl?: string;
  openfgaStore?: string;
  openfgaModel?: string;
}

const EXAMPLES = `
The demo serves the example ProjectService (proto/example/v1/projects.proto) on 127.0.0.1 with the
audit interceptors, plays alice (owner), bob (viewer), a caller without a token, mallory (expired
token) and a failing call, records every event into --db and --log, and prints them.

Without --openfga-url it authorizes with an in-process demo authorizer. With it, the OpenFGA store
needs a model with type user and type project, whose relations are owner, editor (owner implies
editor) and viewer (editor implies viewer); the demo writes its tuples there.

Examples:
  $ grpc-audit demo                                   run the script, print, exit
  $ grpc-audit demo --serve                           then keep serving for your own client
  $ grpc-audit demo --db /tmp/a.db --log /tmp/a.ndjson --keep
  $ grpc-audit demo --openfga-url http://localhost:8080 --openfga-store 01J...`;

/** `grpc-audit demo`: the example service, a scripted client, and what they recorded. */
export function addDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("serve the example service with audit, play a scripted client, print what was recorded")
    .addOption(dbOption())
    .option("--log <path>", "pino log file of the audit events", "./audit-demo.ndjson")
    .option(
      "--keep",
      "add to --db and --log when they exist (default: refuse them; the demo never deletes a file)",
    )
    .option("--serve", "keep serving after the script, until Ctrl-C")
    .option(
      "--openfga-url <url>",
      "authorize with this OpenFGA server instead of the in-process demo authorizer",
    )
    .addOption(new Option("--openfga-store <id>", "OpenFGA store id (with --openfga-url)"))
    .addOption(
      new Option("--openfga-model <id>", "OpenFGA authorization model id (default: the store's latest)"),
    )
    .addHelpText("after", EXAMPLES)
    .action(async (flags: DemoFlags) => {
      const openfga = openFgaTarget(flags);
      // Loaded here: the other commands need neither grpc-js nor jose, and start faster without them.
      const { runDemo } = await import("../demo/run-demo.js");
      await runDemo({
        db: flags.db,
        log: flags.log,
        keep: flags.keep === true,
        serve: flags.serve === true,
        ...(openfga === undefined ? {} : { openfga }),
      });
    });
}

function openFgaTarget(flags: DemoFlags): OpenFgaTarget | undefined {
  const { openfgaUrl: url, openfgaStore: storeId, openfgaModel: modelId } = flags;
  if (url === undefined) {
    if (storeId !== undefined || modelId !== undefined) {
      throw usageError("--openfga-store", "and --openfga-model are only used with --openfga-url");
    }
    return undefined;
  }
  if (!/^https?:\/\/\S+$/.test(url)) throw usageError("--openfga-url", "must be an http:// or https:// URL");
  if (storeId === undefined) throw usageError("--openfga-url", "needs --openfga-store <id>");
  return { url, storeId, ...(modelId === undefined ? {} : { modelId }) };
}
