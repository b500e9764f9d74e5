import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runDemo } from "../../src/cli/demo.js";
import { eventFromJson } from "../../src/event/serialize.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";

describe("demo", () => {
  it("writes one pino line per event, covering all four kinds, and prints them as a table", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "grpc-audit-demo-")), "audit.ndjson");
    const printed: string[] = [];
    await runDemo({ log, json: false }, (text) => printed.push(text));

    const events = readFileSync(log, "utf8")
      .trimEnd()
      .split("\n")
      .map((line) => eventFromJson(JSON.parse(line).audit));
    expect(events.map((e) => e.eventType)).toStrictEqual([
      EventType.EVENT_TYPE_AUTHN_RESULT,
      EventType.EVENT_TYPE_AUTHZ_DECISION,
      EventType.EVENT_TYPE_TUPLE_CHANGED,
      EventType.EVENT_TYPE_RESOURCE_MUTATION,
      EventType.EVENT_TYPE_AUTHN_RESULT,
      EventType.EVENT_TYPE_AUTHZ_DECISION,
    ]);
    expect(events.map((e) => [e.actor?.id, e.requestId, e.result?.code])).toStrictEqual([
      ["alice", "req-owner-1", "OK"],
      ["alice", "req-owner-1", "OK"],
      ["alice", "req-owner-1", "OK"],
      ["alice", "req-owner-1", "OK"],
      ["anonymous", "req-outsider-1", "UNAUTHENTICATED"],
      ["anonymous", "req-outsider-1", "PERMISSION_DENIED"],
    ]);
    const table = printed.join("\n");
    expect(table).toContain("Recorded 6 audit events");
    expect(table).toMatch(
      /authz\.decision\s+anonymous\s+DeleteProject\s+project:apollo\s+FAIL PERMISSION_DENIED/,
    );
    expect(table).toContain("accepted 6, dropped 0, failed 0, invalid 0");
  });

  it("prints the raw log lines with --json", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "grpc-audit-demo-")), "audit.ndjson");
    const printed: string[] = [];
    await runDemo({ log, json: true }, (text) => printed.push(text));
    expect(printed.join("\n")).toBe(readFileSync(log, "utf8").trimEnd());
  });
});
