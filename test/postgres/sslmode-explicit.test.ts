// `sslmode=require` (or `prefer`, `verify-ca`) in a store's URL: pg 8 takes it as `verify-full` and
// printed an 8-line "SECURITY WARNING" on stderr before anything else (the CLI's one-line error
// included). The store now gives pg `verify-full` itself: the same checks (the certificate and the
// host name), said explicitly, and no warning. `uselibpqcompat=true` keeps libpq's meaning, asked for;
// `uselibpqcompat=false` (or empty), which pg does not act on, no longer keeps the warning (review R96).
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { explicitSslMode } from "../../src/postgres/connection-string.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";
import { makeTestCertificates, type TestCertificates } from "../helpers/tls-certs.js";

let server: PostgresServer;
let certs: TestCertificates;
/** What the process warned since the file started: pg warns once per process, not per store. */
const warnings: string[] = [];
const onWarning = (warning: Error) => warnings.push(warning.message);

beforeAll(async () => {
  certs = makeTestCertificates();
  // The server reads its key as its own user (postgres, when this runs as root), and wants it private.
  chmodSync(certs.dir, 0o755);
  chmodSync(certs.serverCert, 0o644);
  if (process.getuid?.() === 0) {
    const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout);
    chownSync(certs.serverKey, id("-u"), id("-g"));
  }
  chmodSync(certs.serverKey, 0o600);
  server = await startPostgresServer({
    settings: { ssl: "on", ssl_cert_file: certs.serverCert, ssl_key_file: certs.serverKey },
  });
  process.on("warning", onWarning);
});

afterAll(async () => {
  process.off("warning", onWarning);
  await server?.stop();
  if (certs !== undefined) rmSync(certs.dir, { recursive: true, force: true });
});

const url = (query: string) => `postgres://postgres@127.0.0.1:${server.port}/postgres?${query}`;

/** The store's error for a certificate whose CA it was not given; Node 24 adds a hint about its --use-system-ca. */
const unverified = () =>
  new RegExp(
    `^postgres store postgres://postgres@127\\.0\\.0\\.1:${server.port}/postgres: unable to verify the first certificate(; if the root CA is installed locally, try running Node\\.js with --use-system-ca)?$`,
  );

describe("sslmode in a store's URL", () => {
  it("require, the CA unknown: refused as verify-full refuses, and pg prints no SECURITY WARNING", async () => {
    const error = await openPostgresStore({ connectionString: url("sslmode=require") }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuditConfigError);
    expect((error as Error).message).toMatch(unverified());
    expect(warnings).toEqual([]);
  });

  it("uselibpqcompat=false or empty, with require: refused as verify-full refuses, and no warning", async () => {
    for (const compat of ["uselibpqcompat=false", "uselibpqcompat="]) {
      const error = await openPostgresStore({ connectionString: url(`${compat}&sslmode=require`) }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AuditConfigError);
      expect((error as Error).message).toMatch(unverified());
    }
    expect(warnings).toEqual([]);
  });

  it("prefer, require, verify-ca with the CA (sslrootcert) open as verify-full does; uselibpqcompat=true is left to pg; no warning", async () => {
    for (const mode of ["sslmode=require", "sslmode=prefer", "sslmode=verify-ca", "sslmode=verify-full"]) {
      const store = await openPostgresStore({ connectionString: url(`${mode}&sslrootcert=${certs.caCert}`) });
      await store.close();
    }
    // libpq's require, asked for: encrypted, the certificate unchecked (the CA not given).
    const libpq = await openPostgresStore({ connectionString: url("uselibpqcompat=true&sslmode=require") });
    await libpq.close();
    expect(warnings).toEqual([]);
  });
});

describe("the connection string given to pg", () => {
  it("says verify-full for the aliases, as pg reads the query, and leaves the rest as written", () => {
    expect(explicitSslMode("postgres://a:p%3Fw@h/db?sslmode=require&application_name=x#f")).toBe(
      "postgres://a:p%3Fw@h/db?sslmode=verify-full&application_name=x#f",
    );
    expect(explicitSslMode("postgres://h/db?ssl%6Dode=prefer&sslmode=verify-ca")).toBe(
      "postgres://h/db?sslmode=verify-full&sslmode=verify-full",
    );
    // Only `uselibpqcompat=true` asks pg for libpq's meanings: its last value, decoded, exactly "true".
    for (const compat of [
      "uselibpqcompat=false",
      "uselibpqcompat=",
      "uselibpqcompat",
      "uselibpqcompat=TRUE",
      "uselibpqcompat=true&uselibpqcompat=false",
    ]) {
      expect(explicitSslMode(`postgres://h/db?${compat}&sslmode=require`)).toBe(
        `postgres://h/db?${compat}&sslmode=verify-full`,
      );
    }
    for (const same of [
      "postgres://h/db?uselibpqcompat=false&uselibpqcompat=true&sslmode=require",
      "postgres://h/db?uselibpq%63ompat=tru%65&sslmode=require",
      "postgres://h/db",
      "postgres://h/db?sslmode=disable",
      "postgres://h/db?sslmode=no-verify",
      "postgres://h/db?uselibpqcompat=true&sslmode=require",
      "postgres://h/db#?sslmode=require",
    ]) {
      expect(explicitSslMode(same)).toBe(same);
    }
  });
});
