import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { type AuditStore, openAuditStore } from "../../src/store/audit-store.js";
import { numberedEvents, tempDir } from "../delivery/helpers.js";

let dir: ReturnType<typeof tempDir>;
let file: string;
let reader: AuditStore;

beforeAll(() => {
  dir = tempDir("readonly-store");
  file = path.join(dir.dir, "audit.db");
  const writer = openAuditStore({ path: file });
  writer.insert(numberedEvents(3));
  writer.close();
  reader = openAuditStore({ path: file, readonly: true });
});

afterAll(() => {
  reader?.close();
  dir?.remove();
});

/** Later than every sample event: a prune would delete them all. */
const before = new Date(Date.UTC(2100, 0, 1));

describe("a store opened read-only", () => {
  it.each([
    ["insert", () => reader.insert(numberedEvents(1, "authz", "new"))],
    ["prune", () => reader.prune({ before })],
    ["pruneReport", () => reader.pruneReport({ before })],
    ["prune with cutChains", () => reader.prune({ before, cutChains: true })],
    ["prune with dryRun: false", () => reader.prune({ before, dryRun: false })],
  ])("refuses %s with an AuditConfigError naming the file", (_, write) => {
    expect(write).toThrow(new AuditConfigError(`audit store ${file}: opened read-only`));
    expect(write).toThrow(AuditConfigError);
  });

  it("counts what a prune would delete (dryRun), and deletes nothing", () => {
    expect(reader.prune({ before, dryRun: true })).toBe(3);
    expect(reader.prune({ before, dryRun: true, cutChains: true })).toBe(3);
    expect(reader.lastSeq()).toBe(3);
    expect(reader.tail(0).events.map((event) => event.eventId)).toStrictEqual(["e-001", "e-002", "e-003"]);
  });
});
