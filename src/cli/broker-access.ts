import { readFileSync } from "node:fs";
import { CliError, EXIT_USAGE, usageError } from "./errors.js";

/** The flags of `grpc-audit ingest` that secure its broker connection (NATS or Kafka). */
export interface BrokerAccessFlags {
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  user?: string;
  sasl?: string;
}

/**
 * The environment variable the broker password is read from. Never a flag: a process's arguments are
 * visible to every local user (`ps`), and shells keep them in their history.
 */
export const PASSWORD_ENV = "GRPC_AUDIT_BROKER_PASSWORD";

/** Kafka's SASL mechanisms the CLI offers (user name and password). */
export const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** How to reach a secured broker: TLS material (PEM texts) and the user's credentials. */
export interface BrokerAccess {
  /** TLS on, with these PEM texts (none: the system's CAs, no client certificate). */
  tls?: { ca?: string; cert?: string; key?: string };
  user?: { name: string; password: string };
  /** Kafka only. */
  sasl?: SaslMechanism;
}

/**
 * Checks the access flags for a `kafka` or `nats` source and reads the files they name; a usage error
 * (exit 2) for a flag missing its partner, a file that cannot be read or a password not set. Error
 * messages name files, never their contents or the password.
 */
export function brokerAccess(
  flags: BrokerAccessFlags,
  scheme: "nats" | "kafka",
  env: NodeJS.ProcessEnv = process.env,
): BrokerAccess {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    const missing = flags.tlsCert === undefined ? "--tls-cert <file>" : "--tls-key <file>";
    const given = flags.tlsCert === undefined ? "--tls-key" : "--tls-cert";
    throw usageError(missing, `is required with ${given} (a client certificate and its key)`);
  }
  const access: BrokerAccess = {};
  if (flags.tls === true || flags.tlsCa !== undefined || flags.tlsCert !== undefined) {
    access.tls = {
      ...(flags.tlsCa !== undefined && { ca: pem("--tls-ca <file>", flags.tlsCa) }),
      ...(flags.tlsCert !== undefined && { cert: pem("--tls-cert <file>", flags.tlsCert) }),
      ...(flags.tlsKey !== undefined && { key: pem("--tls-key <file>", flags.tlsKey) }),
    };
  }
  if (scheme === "nats" && flags.sasl !== undefined)
    throw usageError("--sasl <mechanism>", "is not for nats://");
  if (scheme === "kafka" && (flags.user === undefined) !== (flags.sasl === undefined)) {
    throw flags.user === undefined
      ? usageError("--user <name>", "is required with --sasl")
      : usageError(
          "--sasl <mechanism>",
          `is required with --user for kafka:// (${SASL_MECHANISMS.join(", ")})`,
        );
  }
  if (flags.sasl !== undefined) {
    const mechanism = SASL_MECHANISMS.find((m) => m === flags.sasl?.toUpperCase());
    if (mechanism === undefined)
      throw usageError(
        "--sasl <mechanism>",
        `must be one of ${SASL_MECHANISMS.join(", ")}, got ${JSON.stringify(flags.sasl)}`,
      );
    access.sasl = mechanism;
  }
  if (flags.user !== undefined) {
    if (flags.user === "") throw usageError("--user <name>", "must not be empty");
    const password = env[PASSWORD_ENV];
    if (password === undefined || password === "")
      throw usageError("--user <name>", `needs the password in the environment variable ${PASSWORD_ENV}`);
    access.user = { name: flags.user, password };
  }
  return access;
}

/** The text of a PEM file, read now so that a bad path is a usage error before anything opens. */
function pem(option: string, file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new CliError(
      `option '${option}' cannot read ${JSON.stringify(file)} (${String(code ?? error)})`,
      EXIT_USAGE,
    );
  }
  if (!text.includes("-----BEGIN ")) throw usageError(option, `${JSON.stringify(file)} is not a PEM file`);
  return text;
}

/** The usage error for a broker URL with credentials in it, which every local user could read. */
export const CREDENTIALS_IN_URL = `must not hold credentials (every local user sees them in the process list): use --user and ${PASSWORD_ENV}`;
