import type { KeyObject } from "node:crypto";
import { once } from "node:events";
import { setImmediate } from "node:timers/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import { verifyTrail } from "../../chain/verify.js";
import { WatchedFile } from "../../store/file-identity.js";
import { startStatsWorker, startUiServer, UI_SERVER_DEFAULTS, type UiSource } from "../../ui/index.js";
import { isHost, isHostName } from "../../ui/ui-server.js";
import { type CliStore, isPostgresUrl, withAnyStore } from "../any-store.js";
import { CliError, EXIT_FAILURE, toCliError } from "../errors.js";
import { print } from "../output.js";
import { visible } from "../safe-text.js";
import { BUSY_TIMEOUT_MS, dbOption } from "../store-access.js";
import { publicKeyOption, sealedOption } from "../verify-options.js";
import { checkSqliteIntegrity, type SourceTally, storeEvents } from "../verify-sources.js";
import { withoutOrder } from "./verify.js";

interface UiFlags {
  db: string;
  host: string;
  allowedHost?: string[];
  port: number;
  publicKey?: ReadonlyMap<string, KeyObject>;
  sealed?: boolean;
}

const EXAMPLES = `
Examples:
  $ grpc-audit ui                                     the trail in ./audit.db at http://127.0.0.1:${UI_SERVER_DEFAULTS.port}/
  $ grpc-audit ui --db audit.db --port 0              on any free port (the URL is printed)
  $ grpc-audit ui --public-key audit-2026=audit-2026.pub.pem
                                                      also check the chains' signed checkpoints
  $ grpc-audit ui --db postgres://audit@db/audit      a shared PostgreSQL store
  $ grpc-audit ui --host 10.0.0.5 --allowed-host audit.example.com
                                                      behind a proxy that reaches it as audit.example.com

The viewer only reads, has no login, and listens on 127.0.0.1 unless --host says otherwise.`;

/** `grpc-audit ui`: serves the read-only web trail viewer over a store until SIGINT or SIGTERM. */
export function addUiCommand(program: Command): void {
  program
    .command("ui")
    .description("browse the trail in a read-only web viewer on this machine, until Ctrl-C")
    .addOption(dbOption())
    .addOption(
      new Option(
        "--host <address>",
        "address to listen on; any but a loopback one shows the trail to the network",
      )
        .argParser(hostArgument)
        .default(UI_SERVER_DEFAULTS.host),
    )
    .addOption(
      new Option(
        "--allowed-host <name>",
        "another name the viewer is reached by, such as a proxy's (repeatable); other Host headers get 403",
      ).argParser(allowedHostArgument),
    )
    .addOption(
      new Option("--port <n>", "port to listen on, 0 for any free one")
        .argParser(portArgument)
        .default(UI_SERVER_DEFAULTS.port),
    )
    .addOption(publicKeyOption())
    .addOption(sealedOption())
    .addHelpText("after", EXAMPLES)
    .action((flags: UiFlags) => withAnyStore(flags.db, { readonly: true }, (store) => serve(store, flags)));
}

/** Serves the viewer until a signal, then closes it (and `withAnyStore` the store). */
async function serve(store: CliStore, flags: UiFlags): Promise<void> {
  const viewer = await startUiServer({
    source: uiSource(store, flags),
    host: flags.host,
    allowedHosts: flags.allowedHost ?? [],
    port: flags.port,
    onError: (error) => process.stderr.write(`error: ${toCliError(error, store.name).message}\n`),
  });
  // The address bound decides, not the name: "127.1" or a name of this machine's is loopback too.
  if (!viewer.loopback) {
    // An IPv6 address in brackets, as in the URL: "listening on :::" reads as nothing.
    const host = flags.host.includes(":") ? `[${flags.host}]` : flags.host;
    process.stderr.write(
      `warning: listening on ${host}: anyone who can reach it reads the trail (the viewer has no login)\n`,
    );
  }
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  // Before the URL is printed: a supervisor may stop the viewer as soon as it sees it.
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  print(visible(`grpc-audit ui: ${store.name} at ${viewer.url} (read-only; Ctrl-C stops it)`));
  try {
    await once(stopped.signal, "abort");
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await viewer.close();
  }
}

/** What the viewer reads of the store; its chain check is `grpc-audit verify`'s. */
function uiSource(store: CliStore, flags: UiFlags): UiSource {
  const options = { publicKeys: flags.publicKey ?? new Map(), expectSealed: flags.sealed === true };
  const stillOpened = openedFileCheck(store.name, flags.db);
  const read = withStoreWords(store.name, flags.db);
  // A SQLite store counts on a thread of its own: on the event loop, a count of a large store held every
  // other request. A PostgreSQL store's counts already wait on its server.
  const counts = isPostgresUrl(flags.db)
    ? undefined
    : startStatsWorker({ path: flags.db, busyTimeoutMs: BUSY_TIMEOUT_MS });
  return {
    name: store.name,
    query: (filter, page) =>
      read(async () => {
        stillOpened();
        return store.query(filter, page);
      }),
    stats: (filter) =>
      read(async () => {
        stillOpened();
        return (counts ?? store).stats(filter);
      }),
    verify: () =>
      read(async () => {
        stillOpened();
        const tally: SourceTally = { unreadable: [], skippedLines: 0 };
        // As `grpc-audit verify --db`: a store holds each event once, and a SQLite file's indexes are checked.
        const report = await verifyTrail(storeEvents(yieldingTail(store, stillOpened), tally), options, {
          eventsOnce: true,
        });
        if (!isPostgresUrl(flags.db)) {
          await checkSqliteIntegrity(flags.db, tally);
          stillOpened(); // the check opened the path again: its findings are the opened file's only if it is there
        }
        const chains = isPostgresUrl(flags.db) ? withoutOrder(report.chains) : report.chains;
        return { ...report, chains, unreadable: tally.unreadable };
      }),
    close: async () => counts?.close(),
  };
}

/**
 * Runs a read of the store; a SQLite file's errors say what stderr says, so the page and the API do
 * too: a file another process holds locked is named ("audit store ./audit.db: the database is locked
 * by another process", not SQLite's bare "database is locked"), and the error of a file found damaged
 * (SQLITE_CORRUPT, SQLITE_NOTADB) names the likely cause in a viewer: a file copied over the one it
 * has open (`cp backup.db audit.db`) keeps its inode, so `openedFileCheck` cannot see it, and SQLite
 * reads the new file's pages through what it kept of the old one (its cache, the `-shm` index). A
 * PostgreSQL store's errors pass as they are.
 */
function withStoreWords(name: string, db: string): <T>(read: () => Promise<T>) => Promise<T> {
  return async (read) => {
    try {
      return await read();
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (isPostgresUrl(db)) throw error;
      if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") throw toCliError(error, name);
      if (code !== "SQLITE_CORRUPT" && code !== "SQLITE_NOTADB") throw error;
      throw new CliError(
        `${toCliError(error, name).message}; if the file was overwritten in place (cp over it), restart the viewer`,
        EXIT_FAILURE,
        { cause: error },
      );
    }
  };
}

/**
 * A check that throws when the SQLite file `db` names is no longer the one the viewer opened (a
 * PostgreSQL store has none). SQLite reads on in a file deleted or replaced under it, while
 * `integrity_check` opens the path again: the page would show the old file's events, and the chains'
 * report would mix two files, or call the store `modified` when its file was deleted.
 */
function openedFileCheck(name: string, db: string): () => void {
  if (isPostgresUrl(db)) return () => {};
  const opened = new WatchedFile(db);
  return () => {
    if (!opened.moved()) return;
    throw new CliError(
      `audit store ${name}: the file was removed or replaced since the viewer opened it; restart \`grpc-audit ui\` to view the file now at that path`,
      EXIT_FAILURE,
    );
  };
}

/**
 * The store's pages, each read on a later turn of the event loop, after `check`. A SQLite read never
 * waits for I/O, so a verification of a large store would otherwise hold the process until its end: no
 * page loads, and no Ctrl-C, meanwhile. Stopped, the viewer closes the store; the next page's read then
 * fails, and the verification ends there.
 */
function yieldingTail(store: CliStore, check: () => void): Pick<CliStore, "tail"> {
  return {
    tail: async (afterSeq, limit) => {
      await setImmediate();
      check();
      return store.tail(afterSeq, limit);
    },
  };
}

function hostArgument(value: string): string {
  // Checked here, so that it is a usage error (exit 2) like any bad option, not a failed start.
  if (value === "") throw new InvalidArgumentError("It is empty: name an address, such as 127.0.0.1.");
  if (!isHost(value)) throw new InvalidArgumentError(hostMistake(value));
  // An IPv6 address as a URL writes it, "[::1]": listen takes it without the brackets.
  return /^\[(.*)\]$/.exec(value)?.[1] ?? value;
}

/** What is wrong with a `--host` value that `isHost` refuses. */
function hostMistake(value: string): string {
  if (isHost(value.replace(/:\d+$/, ""))) return "It has a port: give the port with --port.";
  if (value.startsWith("[")) return "Brackets hold an IPv6 address, such as [::1].";
  if (/^[\d.]+$/.test(value))
    return "It is not an IPv4 address: four numbers from 0 to 255, such as 127.0.0.1.";
  return "Use a host name or an IP address, such as localhost, 127.0.0.1 or ::1.";
}

function allowedHostArgument(value: string, previous: string[] | undefined): string[] {
  if (!isHostName(value)) {
    throw new InvalidArgumentError("Use a host name or address, with an optional :port (example.com:8443).");
  }
  return [...(previous ?? []), value];
}

function portArgument(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError("Use an integer from 0 to 65535.");
  return port;
}
