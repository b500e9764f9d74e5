// Runs the quickstart: starts the server, makes the client's calls, prints how they ended, and closes
// the server, which writes every audit event to the logger (stdout by default) as a pino JSON line.
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import pino, { type Logger } from "pino";
import { runClient } from "./client.js";
import { startNotesServer } from "./server.js";

/** Runs the whole quickstart once; returns how each call ended. */
export async function runQuickstart(logger: Logger = pino()): Promise<string[]> {
  const jwtSecret = randomBytes(32); // shared by the server and the token issuer of this run
  const server = await startNotesServer(logger, jwtSecret);
  try {
    return await runClient(server.port, jwtSecret);
  } finally {
    await server.close();
  }
}

// Run directly (`npx tsx main.ts` in your project): print how each call ended.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const line of await runQuickstart()) console.log(line);
}
