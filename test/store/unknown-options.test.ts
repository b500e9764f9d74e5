// openAuditStore and prune check their option names: `readOnly` for `readonly` opened the store
// read-write.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { type AuditStoreOptions, openAuditStore } from "../../src/store/audit-store.js";

const dir = mkdtempSync(join(tmpdir(), "store-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the SQLite store refuses unknown option names", () => {
  it("openAuditStore, before it creates the file", () => {
    const path = join(dir, "audit.db");
    const open = () => openAuditStore({ path, readOnly: true } as AuditStoreOptions);
    expect(open).toThrow(AuditConfigError);
    expect(open).toThrow("audit store: unknown option `readOnly` (did you mean `readonly`?)");
    expect(existsSync(path)).toBe(false);
  });

  it("prune", () => {
    const store = openAuditStore({ path: join(dir, "prune.db") });
    try {
      expect(() => store.prune({ before: new Date(), dryrun: true } as never)).toThrow(
        "audit store: prune: unknown option `dryrun` (did you mean `dryRun`?)",
      );
    } finally {
      store.close();
    }
  });
});
