// A bad `servers` option is refused naming the entry by position, never echoing a URL: it may hold a password.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createNatsBroker, createNatsSource } from "../../src/nats/index.js";

// As split from an environment variable with a trailing comma: a URL with credentials, then "".
const servers = "nats://audit:hunter2@nats-1.internal:4222,".split(",");

describe("a bad servers option", () => {
  it.each([
    ["createNatsBroker", "nats broker", () => createNatsBroker({ servers })],
    [
      "createNatsSource",
      "nats source",
      () => createNatsSource({ servers, stream: "AUDIT", consumer: "ingest" }),
    ],
  ])("%s names the empty entry and leaves out the password of the other", async (_, label, create) => {
    const error = await create().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuditConfigError);
    expect((error as Error).message).toBe(
      `${label}: \`servers\` must be a server URL or a non-empty list of them; servers[1] is empty`,
    );
    expect((error as Error).message).not.toContain("hunter2");
  });

  it("names a non-string entry by its type, not its value", async () => {
    const creating = createNatsBroker({
      servers: [
        "nats://audit:hunter2@nats-1.internal:4222",
        { url: "nats://audit:hunter2@nats-2.internal:4222" },
      ] as never,
    });
    await expect(creating).rejects.toThrow(
      new AuditConfigError(
        "nats broker: `servers` must be a server URL or a non-empty list of them; servers[1] is an object, not a string",
      ),
    );
  });
});
