/**
 * The schema version this library's SQLite store writes: the number of migrations in `schema.ts`
 * (test/store/schema-version.test.ts keeps the two equal). Kept apart from `schema.ts`, which imports
 * better-sqlite3, so a TypeScript user of the store subpath needs no `@types/better-sqlite3`.
 */
export const SCHEMA_VERSION: number = 4;
