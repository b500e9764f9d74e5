// Review R101 (LOW): `servers: "nats://user:pass@host:4222"` was accepted, then the connect failed
// with "Authorization Violation": the client keeps only host and port of a server URL. Such an entry
// (a user and password, or a token) is refused up front, naming no credential; the same credentials
// in `connectOptions` connect to a real nats-server.
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createNatsBroker, createNatsSource } from "../../src/nats/index.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";

const PASSWORD = "Pw7uRlMarker";
const TOKEN = "Tok3nUrlMarker";

const WHY =
  "holds a user, password or token, or a path, query or fragment (`?token=…`): the client reads only " +
  "host and port in a server URL; give credentials in `connectOptions` (user and pass, token, or authenticator)";
const PREFIX = "`servers` must be a server URL or a non-empty list of them;";

/** The rejection of `creating`. */
async function refusal(creating: Promise<unknown>): Promise<unknown> {
  return creating.then(
    () => expect.unreachable("created"),
    (error: unknown) => error,
  );
}

let withUser: NatsServer;
let withToken: NatsServer;
beforeAll(async () => {
  [withUser, withToken] = await Promise.all([
    startNatsServer({ config: `authorization { user: alice, password: "${PASSWORD}" }` }),
    startNatsServer({ config: `authorization { token: "${TOKEN}" }` }),
  ]);
});
afterAll(async () => {
  await Promise.all([withUser?.stop(), withToken?.stop()]);
});

describe("a servers entry with a user, password or token in its URL", () => {
  it("createNatsBroker refuses a user and password in the URL, naming neither", async () => {
    const error = await refusal(
      createNatsBroker({ servers: `nats://alice:${PASSWORD}@127.0.0.1:${withUser.port}` }),
    );
    expect(error).toStrictEqual(new AuditConfigError(`nats broker: ${PREFIX} it ${WHY}`));
    expect(inspect(error, { depth: 6 })).not.toContain(PASSWORD);
    expect(inspect(error, { depth: 6 })).not.toContain("alice");
  });

  it("createNatsBroker says so of a user and password before a host name (which the client cannot read)", async () => {
    const error = await refusal(createNatsBroker({ servers: [`nats://alice:${PASSWORD}@nats-1:4222`] }));
    expect(error).toStrictEqual(new AuditConfigError(`nats broker: ${PREFIX} servers[0] ${WHY}`));
    expect(inspect(error, { depth: 6 })).not.toContain(PASSWORD);
  });

  it("createNatsBroker connects with the same user and password in connectOptions", async () => {
    const broker = await createNatsBroker({
      servers: withUser.url,
      connectOptions: { user: "alice", pass: PASSWORD },
    });
    await broker.close();
  });

  it("createNatsBroker refuses a token in the URL (no scheme), naming it by position", async () => {
    const error = await refusal(
      createNatsBroker({ servers: [withToken.url, `${TOKEN}@127.0.0.1:${withToken.port}`] }),
    );
    expect(error).toStrictEqual(new AuditConfigError(`nats broker: ${PREFIX} servers[1] ${WHY}`));
    expect(inspect(error, { depth: 6 })).not.toContain(TOKEN);
  });

  it.each([`?token=${TOKEN}`, `/${TOKEN}`, `#${TOKEN}`])(
    "createNatsBroker refuses a token after the port (%s), which the client would drop",
    async (past) => {
      const error = await refusal(createNatsBroker({ servers: `${withToken.url}${past}` }));
      expect(error).toStrictEqual(new AuditConfigError(`nats broker: ${PREFIX} it ${WHY}`));
      expect(inspect(error, { depth: 6 })).not.toContain(TOKEN);
    },
  );

  it("createNatsBroker connects with the same token in connectOptions", async () => {
    const broker = await createNatsBroker({ servers: [withToken.url], connectOptions: { token: TOKEN } });
    await broker.close();
  });

  it("createNatsSource refuses it too, before connecting", async () => {
    const error = await refusal(
      createNatsSource({
        servers: [`tls://alice:${PASSWORD}@127.0.0.1:${withUser.port}`],
        stream: "AUDIT",
        consumer: "ingest",
      }),
    );
    expect(error).toStrictEqual(new AuditConfigError(`nats source: ${PREFIX} servers[0] ${WHY}`));
    expect(inspect(error, { depth: 6 })).not.toContain(PASSWORD);
  });

  it("a list the client cannot read is named first, whatever entry holds a user", async () => {
    const error = await refusal(
      createNatsBroker({ servers: [`nats://alice:${PASSWORD}@127.0.0.1:${withUser.port}`, ""] }),
    );
    expect(error).toStrictEqual(new AuditConfigError(`nats broker: ${PREFIX} servers[1] is empty`));
  });
});
