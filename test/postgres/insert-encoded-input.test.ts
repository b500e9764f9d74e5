// insertEncoded refuses what is not a list of encoded events as insert does (checkInsert), with an
// AuditInputError and nothing stored, instead of a TypeError from deep inside the column builder.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditInputError } from "../../src/errors/index.js";
import { encodeEvent } from "../../src/event/serialize.js";
import { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { openPostgresStore, type PostgresStore } from "../../src/postgres/index.js";
import { type PostgresServer, startPostgresServer } from "../helpers/postgres-server.js";

let server: PostgresServer;
let store: PostgresStore;
beforeAll(async () => {
  server = await startPostgresServer();
  store = await openPostgresStore({ connectionString: await server.createDatabase() });
}, 60_000);
afterAll(async () => {
  await store?.close();
  await server?.stop();
});

const event = AuditEvent.fromPartial({
  eventId: "e-1",
  service: "s",
  occurredAt: new Date("2026-01-01T00:00:00Z"),
});

describe("PostgreSQL insertEncoded", () => {
  it.each([
    ["undefined", undefined, "audit store insert: `events` must be an array of AuditEvents, got undefined"],
    ["{}", {}, "audit store insert: `events` must be an array of AuditEvents, got an object"],
    [
      "[null]",
      [null],
      "audit store insert: events[0] must be an AuditEvent (an object with a string eventId), got null",
    ],
    [
      "[{ bytes }] without its event",
      [{ bytes: encodeEvent(event) }],
      "audit store insert: events[0] must be an AuditEvent (an object with a string eventId), got undefined",
    ],
    [
      "[{ event }] without its bytes",
      [{ event }],
      "audit store insert: events[0].bytes must be a Uint8Array",
    ],
  ])("refuses %s with an AuditInputError, as insert does", async (_label, events, message) => {
    const error: unknown = await store.insertEncoded(events as never).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(AuditInputError);
    expect((error as Error).message).toBe(message);
    expect((await store.stats()).total).toBe(0);
  });

  it("stores encoded events", async () => {
    await expect(store.insertEncoded([{ event, bytes: encodeEvent(event) }])).resolves.toBe(1);
  });
});
