// createNatsSource's option checks: a bad option is an AuditConfigError naming it, before any connection.
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createNatsSource } from "../../src/nats/index.js";

describe("createNatsSource options", () => {
  it.each([
    [[], "it is an empty list"],
    ["", "it is empty"],
    [["nats://127.0.0.1:4222", ""], "servers[1] is empty"],
    [[4222], "servers[0] is a number, not a string"],
  ])(
    "refuses servers %j rather than connecting to the client's default, 127.0.0.1:4222",
    async (servers, problem) => {
      const creating = createNatsSource({
        servers: servers as string[],
        stream: "AUDIT",
        consumer: "ingest",
      });
      await expect(creating).rejects.toThrow(AuditConfigError);
      await expect(creating).rejects.toThrow(
        `nats source: \`servers\` must be a server URL or a non-empty list of them; ${problem}`,
      );
    },
  );

  it("refuses a misspelt option, naming the one it most likely means", async () => {
    const creating = createNatsSource({
      servers: "nats://127.0.0.1:4222",
      stream: "AUDIT",
      consumer: "ingest",
      ackWaitMS: 5000,
    } as Parameters<typeof createNatsSource>[0]);
    await expect(creating).rejects.toThrow(AuditConfigError);
    await expect(creating).rejects.toThrow(
      "nats source: unknown option `ackWaitMS` (did you mean `ackWaitMs`?)",
    );
  });

  it.each([1000, 1999, 2000.5])(
    "refuses ackWaitMs %j: a fetch is cut at half the ack wait, and is 1000 ms at least",
    async (ackWaitMs) => {
      const creating = createNatsSource({
        servers: "nats://127.0.0.1:4222",
        stream: "AUDIT",
        consumer: "ingest",
        ackWaitMs,
      });
      await expect(creating).rejects.toThrow(AuditConfigError);
      await expect(creating).rejects.toThrow(
        `nats source: \`ackWaitMs\` must be an integer of at least 2000, got ${ackWaitMs}`,
      );
    },
  );

  it.each([[""], ["hub.east"], ["hub east"], ["hub*"], [7]])(
    "refuses domain %j: it becomes a token of the API subject $JS.<domain>.API",
    async (domain) => {
      const creating = createNatsSource({
        servers: "nats://127.0.0.1:4222",
        domain: domain as string,
        stream: "AUDIT",
        consumer: "ingest",
      });
      await expect(creating).rejects.toThrow(AuditConfigError);
      await expect(creating).rejects.toThrow(
        `nats source: \`domain\` must be a JetStream domain name (no spaces, dots or wildcards), got ${JSON.stringify(domain)}`,
      );
    },
  );
});
