#!/usr/bin/env node
// The grpc-audit command. Commands: demo (more come with the store: tail, query, stats, prune).
import { Command } from "commander";
import { runDemo } from "./demo.js";

const program = new Command()
  .name("grpc-audit")
  .description("Audit events for Node.js gRPC servers")
  .showHelpAfterError();

program
  .command("demo")
  .description("record one audit event of each kind to a pino log file and print what was recorded")
  .option("--log <path>", "log file to write", "audit-demo.ndjson")
  .option("--json", "print the raw log lines instead of a table", false)
  .action(async (options: { log: string; json: boolean }) => {
    await runDemo(options, (text) => process.stdout.write(`${text}\n`));
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`grpc-audit: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
