// The NATS broker's publish refuses messages that are not a list of BrokerMessages with an
// AuditInputError, publishing nothing, instead of a TypeError from deep inside.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditInputError } from "../../src/errors/index.js";
import { createNatsBroker, type NatsBroker } from "../../src/nats/index.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";

let server: NatsServer;
let broker: NatsBroker;
beforeAll(async () => {
  server = await startNatsServer();
  broker = await createNatsBroker({ servers: server.url });
}, 60_000);
afterAll(async () => {
  await broker?.close();
  await server?.stop();
});

describe("NATS broker publish", () => {
  it.each([
    ["undefined", undefined],
    ["{}", {}],
    ["[null]", [null]],
    ["['x']", ["x"]],
  ])("refuses %s with an AuditInputError", async (_label, messages) => {
    const error: unknown = await broker.publish("audit.t", messages as never).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(AuditInputError);
    expect((error as Error).message).toBe("nats: publish's `messages` must be an array of BrokerMessages");
  });
});
