// openPostgresStore checks its option names before it connects.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { openPostgresStore, type PostgresStoreOptions } from "../../src/postgres/index.js";

describe("openPostgresStore", () => {
  it("refuses a misspelt option before it connects", async () => {
    const opening = openPostgresStore({
      connectionString: "postgres://audit@127.0.0.1:1/audit",
      queryTimeout: 5,
    } as PostgresStoreOptions);
    await expect(opening).rejects.toThrow(AuditConfigError);
    await expect(opening).rejects.toThrow(
      "postgres store: unknown option `queryTimeout` (did you mean `queryTimeoutMs`?)",
    );
  });
});

describe("openPostgresStore's connection string errors", () => {
  const cases: [string, string][] = [
    [
      "postgres://u:hunter2@127.0.0.1:99999/db",
      "postgres store: `connectionString` has port 99999, beyond 65535",
    ],
    [
      "postgres://u:p@ss@127.0.0.1:99999/db",
      "postgres store: `connectionString` has port 99999, beyond 65535",
    ],
    [
      "postgres://u:hunter2@127.0.0.1:54x/db",
      "postgres store: `connectionString` has a port that is not a number",
    ],
    [
      // "#" unencoded ends the authority: "u:p" is read as the host and its port.
      "postgres://u:p#hunter2@127.0.0.1:5432/db",
      'postgres store: `connectionString` has an "@" after its host; if its user name or password holds "#", "/", "?" or a space, percent-encode it (%23, %2F, %3F, %20) or give the password in PGPASSWORD',
    ],
    [
      // The URL parses, with "ss" (part of the password) as its host: refused before any lookup.
      "postgres://u:p@ss/hunter2@127.0.0.1:5432/db",
      'postgres store: `connectionString` has an "@" after its host; if its user name or password holds "#", "/", "?" or a space, percent-encode it (%23, %2F, %3F, %20) or give the password in PGPASSWORD',
    ],
    [
      // pg takes a `port` parameter over the authority's: one that is not a number left the opening hanging.
      "postgres://u:hunter2@127.0.0.1:5432/db?port=abc",
      "postgres store: `connectionString` has a `port` parameter that is not a number",
    ],
    [
      "postgres://u:hunter2@127.0.0.1:5432/db?port=99999",
      "postgres store: `connectionString` has `port` parameter 99999, beyond 65535",
    ],
    [
      "mysql://u:hunter2@127.0.0.1/db",
      "postgres store: `connectionString` must be a postgres:// or postgresql:// URL",
    ],
  ];
  for (const [connectionString, message] of cases) {
    it(`names what is wrong with ${connectionString.replace(/:[^:@]*@/, ":***@")}, never the password`, async () => {
      const opening = openPostgresStore({ connectionString });
      await expect(opening).rejects.toThrow(AuditConfigError);
      await expect(opening).rejects.toThrow(message);
      await opening.catch((error: Error) => {
        expect(error.message).not.toContain("hunter2");
        expect(error.message).not.toContain("ss@");
      });
    });
  }
});
