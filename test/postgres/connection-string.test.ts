// How a store's connection string is shown: a password that is a common word (`exist`) was masked in
// the server's own words (`database "nosuch" does not ***`); a libpq socket URL with credentials, which
// pg takes, was refused because the WHATWG parser refuses credentials without a host.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redact, scrubbed, urlProblem } from "../../src/postgres/connection-string.js";
import { openPostgresStore } from "../../src/postgres/index.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgresServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("a password in messages", () => {
  it("is masked where the URL or its user part shows it, as written or decoded", () => {
    const url = "postgres://audit:p%40ss@db:5432/audit";
    const message = (text: string) => scrubbed(new Error(text), url).message;
    expect(message(`cannot reach ${url}`)).toBe("cannot reach postgres://audit:***@db:5432/audit");
    expect(message("bad user audit:p@ss@db")).toBe("bad user audit:***@db");
    const raw = "postgres://audit:p@ss@db/audit"; // an "@" left unencoded, as pg takes it
    expect(scrubbed(new Error(`at ${raw}`), raw).message).toBe("at postgres://audit:***@db/audit");
  });

  it("that is a word of the server's message leaves the message whole", async () => {
    const nosuch = `postgres://postgres:exist@127.0.0.1:${server.port}/nosuch`;
    const opening = openPostgresStore({ connectionString: nosuch });
    await expect(opening).rejects.toThrow(
      `postgres store postgres://postgres@127.0.0.1:${server.port}/nosuch: database "nosuch" does not exist`,
    );
  });
});

describe("a socket URL with credentials and no host", () => {
  it("is named without its password, as pg reads it", () => {
    const url = "postgresql://postgres:pw@/audit?host=/run/postgresql";
    const { host, user, password, database } = new pg.Client({ connectionString: url });
    expect({ host, user, password, database }).toStrictEqual({
      host: "/run/postgresql",
      user: "postgres",
      password: "pw",
      database: "audit",
    });
    expect(redact(url)).toBe("postgresql://postgres@/audit");
    expect(scrubbed(new Error(`no ${url}`), url).message).toBe(
      "no postgresql://postgres:***@/audit?host=/run/postgresql",
    );
  });

  it("opens the store through the server's socket", async () => {
    const db = new URL(await server.createDatabase()).pathname.slice(1);
    const url = `postgresql://postgres:pw@/${db}?host=${server.dir}&port=${server.port}`;
    const store = await openPostgresStore({ connectionString: url });
    try {
      expect([store.name, await store.lastSeq()]).toStrictEqual([`postgresql://postgres@/${db}`, 0]);
    } finally {
      await store.close();
    }
  });
});

describe("urlProblem", () => {
  it('takes an "@" in a query parameter\'s value, a valid URL (review R131)', () => {
    expect(urlProblem("postgres://audit:pw@127.0.0.1:5432/audit?application_name=a@b#c")).toBeUndefined();
    expect(urlProblem("postgres://audit:p%23w@127.0.0.1:5432/audit")).toBeUndefined();
  });

  it('refuses an "@" in the path, the fragment or a query part without "=": part of a password', () => {
    for (const url of [
      "postgres://audit:pre@Tail/9@127.0.0.1:5432/audit",
      "postgres://audit:pre@Tail#9@127.0.0.1:5432/audit",
      "postgres://audit:pre@Tail?9@127.0.0.1:5432/audit",
    ]) {
      expect(urlProblem(url), url).toMatch(/^has an "@" after its host; /);
    }
  });
});
