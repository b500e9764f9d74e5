import { type Command, InvalidArgumentError, Option } from "commander";
import { isPostgresUrl } from "../any-store.js";
import type { ExternalIssuer } from "../demo/demo-identity.js";
import type { OpenFgaTarget } from "../demo/demo-tuples.js";
import { usageError } from "../errors.js";
import { dbOption } from "../store-access.js";
import { withoutCredentials } from "../without-credentials.js";

interface DemoFlags {
  db: string;
  log: string;
  keep?: boolean;
  serve?: boolean;
  openfgaUrl?: string;
  openfgaStore?: string;
  openfgaModel?: string;
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

const EXAMPLES = `
The demo serves the example ProjectService (proto/example/v1/projects.proto) on 127.0.0.1 with the
audit interceptors, plays alice (owner), bob (viewer), a caller without a token, mallory (expired
token) and a failing call, records every event into --db and --log, and prints them.

Without --openfga-url it authorizes with an in-process demo authorizer. With it, the OpenFGA store
needs a model with type user and type project, whose relations are owner, editor (owner implies
editor) and viewer (editor implies viewer); the demo writes its tuples there.

With --serve, --jwks-url, --issuer and --audience let any client bring its own tokens: besides the
demo's own, the server accepts JWTs with that iss and aud, signed by a key of that JWKS.

Examples:
  $ grpc-audit demo                                   run the script, print, exit
  $ grpc-audit demo --serve                           then keep serving for your own client
  $ grpc-audit demo --serve --jwks-url https://idp.example/jwks.json --issuer https://idp.example/ --audience projects-api
  $ grpc-audit demo --db /tmp/a.db --log /tmp/a.ndjson --keep
  $ grpc-audit demo --openfga-url http://localhost:8080 --openfga-store 01J...`;

/** `grpc-audit demo`: the example service, a scripted client, and what they recorded. */
export function addDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("serve the example service with audit, play a scripted client, print what was recorded")
    .addOption(dbOption(true))
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
    .addOption(new Option("--openfga-store <id>", "OpenFGA store id (with --openfga-url)").argParser(ulid))
    .addOption(
      new Option(
        "--openfga-model <id>",
        "OpenFGA authorization model id (default: the store's latest)",
      ).argParser(ulid),
    )
    .option("--jwks-url <url>", "with --serve: also accept tokens signed by a key of this JWKS")
    .option("--issuer <iss>", "the iss of those tokens (with --jwks-url)")
    .option("--audience <aud>", "the aud those tokens must carry (with --jwks-url)")
    .addHelpText("after", EXAMPLES)
    .action(async (flags: DemoFlags) => {
      if (isPostgresUrl(flags.db)) {
        throw usageError(
          "--db <path>",
          `names a PostgreSQL server (${withoutCredentials(flags.db)}); the demo records into a SQLite file only`,
        );
      }
      const openfga = openFgaTarget(flags);
      const externalIssuer = externalIssuerOf(flags);
      // Loaded here: the other commands need neither grpc-js nor jose, and start faster without them.
      const { runDemo } = await import("../demo/run-demo.js");
      await runDemo({
        db: flags.db,
        log: flags.log,
        keep: flags.keep === true,
        serve: flags.serve === true,
        ...(openfga === undefined ? {} : { openfga }),
        ...(externalIssuer === undefined ? {} : { externalIssuer }),
      });
    });
}

function openFgaTarget(flags: DemoFlags): OpenFgaTarget | undefined {
  const { openfgaUrl: url, openfgaStore: storeId, openfgaModel: modelId } = flags;
  if (url === undefined) {
    if (storeId !== undefined || modelId !== undefined) {
      throw usageError("--openfga-store <id>", "and --openfga-model <id> are only used with --openfga-url");
    }
    return undefined;
  }
  if (!/^https?:\/\/\S+$/.test(url))
    throw usageError("--openfga-url <url>", "must be an http:// or https:// URL");
  if (storeId === undefined) throw usageError("--openfga-url <url>", "needs --openfga-store <id>");
  return { url, storeId, ...(modelId === undefined ? {} : { modelId }) };
}

/**
 * The ULID an OpenFGA store or model id is, checked with the rule of the OpenFGA SDK
 * (`isWellFormedUlidString`): the SDK refuses any other id only once the demo has started, with its
 * own message, which names no option.
 */
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

function ulid(text: string): string {
  if (!ULID.test(text)) {
    throw new InvalidArgumentError(
      "Use a ULID, as OpenFGA ids are: 26 characters of Crockford base32 (0-9 and A-Z without I, L, O, U; the first 0-7), such as 01ARZ3NDEKTSV4RRFFQ69G5FAV.",
    );
  }
  return text;
}

function externalIssuerOf(flags: DemoFlags): ExternalIssuer | undefined {
  const { jwksUrl, issuer, audience } = flags;
  if (jwksUrl === undefined) {
    if (issuer !== undefined || audience !== undefined) {
      throw usageError("--issuer <iss>", "and --audience <aud> are only used with --jwks-url");
    }
    return undefined;
  }
  if (flags.serve !== true) throw usageError("--jwks-url <url>", "is only used with --serve");
  if (!/^https?:\/\/\S+$/.test(jwksUrl))
    throw usageError("--jwks-url <url>", "must be an http:// or https:// URL");
  if (issuer === undefined || issuer === "") throw usageError("--jwks-url <url>", "needs --issuer <iss>");
  if (audience === undefined || audience === "")
    throw usageError("--jwks-url <url>", "needs --audience <aud>");
  return { jwksUrl, issuer, audience };
}
