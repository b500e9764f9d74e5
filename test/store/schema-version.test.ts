// STORE_SCHEMA_VERSION comes from a file that imports nothing of better-sqlite3 (so the store
// subpath's types need no @types/better-sqlite3), and stays equal to the migrations' count.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { STORE_SCHEMA_VERSION } from "../../src/store/index.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/schema.js";

describe("STORE_SCHEMA_VERSION", () => {
  it("is the number of migrations", () => {
    expect(STORE_SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(STORE_SCHEMA_VERSION).toBe(SCHEMA_VERSION);
  });

  it("is exported from a module that imports nothing", () => {
    const index = readFileSync(new URL("../../src/store/index.ts", import.meta.url), "utf8");
    const from = /export \{ SCHEMA_VERSION as STORE_SCHEMA_VERSION \} from "\.\/(.+)\.js";/.exec(index)?.[1];
    expect(from).toBe("schema-version");
    const source = readFileSync(new URL(`../../src/store/${from}.ts`, import.meta.url), "utf8");
    expect(source).not.toMatch(/^import /m);
  });
});
