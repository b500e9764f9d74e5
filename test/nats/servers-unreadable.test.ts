// A `servers` entry the client cannot read is refused up front: the client's own refusal is Node's
// TypeError "Invalid URL", whose `input` holds the entry, password and all, which loggers print.
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createNatsBroker, createNatsSource } from "../../src/nats/index.js";

const PASSWORD = "S3cretPw";

const UNREADABLE = [
  `nats://alice:${PASSWORD}@nats-1.example:notaport`,
  "  ",
  `tls://alice:${PASSWORD}@127.0.0.1:99999`,
  `alice:${PASSWORD}@127.0.0.1:370370000`,
  `nats://alice:${PASSWORD}@127.0.0.1:4222:x`,
];

const WHY =
  "not a server URL the client can read (host and port, such as nats://nats-1:4222; a port up to " +
  "65535; a user and password go in `connectOptions`)";

/** The rejection of `creating`. */
async function refusal(creating: Promise<unknown>): Promise<unknown> {
  return creating.then(
    () => expect.unreachable("created"),
    (error: unknown) => error,
  );
}

describe("a servers entry the NATS client cannot read", () => {
  it.each(UNREADABLE)("createNatsBroker names it by position, without its text: %#", async (entry) => {
    const error = await refusal(createNatsBroker({ servers: ["nats://127.0.0.1:4222", entry] }));
    expect(error).toBeInstanceOf(AuditConfigError);
    expect((error as Error).message).toBe(
      `nats broker: \`servers\` must be a server URL or a non-empty list of them; servers[1] is ${WHY}`,
    );
    expect((error as Error).cause).toBeUndefined();
    expect(inspect(error, { depth: 6 })).not.toContain(PASSWORD);
  });

  it.each(UNREADABLE)("createNatsSource names it by position, without its text: %#", async (entry) => {
    const error = await refusal(createNatsSource({ servers: [entry], stream: "AUDIT", consumer: "ingest" }));
    expect(error).toBeInstanceOf(AuditConfigError);
    expect((error as Error).message).toBe(
      `nats source: \`servers\` must be a server URL or a non-empty list of them; servers[0] is ${WHY}`,
    );
    expect(inspect(error, { depth: 6 })).not.toContain(PASSWORD);
  });

  it("refuses a single unreadable URL given as a string", async () => {
    const error = await refusal(createNatsBroker({ servers: UNREADABLE[0] }));
    expect(error).toStrictEqual(
      new AuditConfigError(
        `nats broker: \`servers\` must be a server URL or a non-empty list of them; it is ${WHY}`,
      ),
    );
  });
});

// The client reads "a,b" as one address, the last, so every server but the last would be lost unsaid.
describe("a servers entry holding a comma-joined list", () => {
  const ONE_EACH = "give a list with one server URL each (split a NATS_URL-style list on commas)";

  it("is refused as a string, asking for one URL each", async () => {
    const error = await refusal(createNatsBroker({ servers: "nats://127.0.0.1:4222,nats://127.0.0.1:4223" }));
    expect(error).toStrictEqual(
      new AuditConfigError(
        `nats broker: \`servers\` must be a server URL or a non-empty list of them; it holds a comma: ${ONE_EACH}`,
      ),
    );
  });

  it("is refused in a list, named by position", async () => {
    const error = await refusal(
      createNatsSource({
        servers: ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223,nats://127.0.0.1:4224"],
        stream: "AUDIT",
        consumer: "ingest",
      }),
    );
    expect((error as Error).message).toBe(
      `nats source: \`servers\` must be a server URL or a non-empty list of them; servers[1] holds a comma: ${ONE_EACH}`,
    );
  });
});
