// A `subject` outside every subject of the stream: the server refuses the consumer with its own text
// ("consumer filter subject is not a valid subset of the interest subjects"), which names neither.
// The source refuses it as a configuration error naming both, and `grpc-audit ingest` exits 2 on it,
// as on every other consumer setting it refuses.
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CliError, EXIT_USAGE } from "../../src/cli/errors.js";
import { sourceOpener } from "../../src/cli/ingest-source.js";
import { AuditConfigError } from "../../src/errors/index.js";
import { createNatsSource, ensureAuditStream } from "../../src/nats/index.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { natsConnection } from "../ingest/fleet.js";

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
  const nc = await natsConnection(server.url);
  await ensureAuditStream(nc, { name: "AUDIT", subjects: ["audit.>", "orders.*.audit"] });
  await nc.close();
});
afterAll(async () => {
  await server?.stop();
});

const outside = (subject: string) =>
  `nats source: subject "${subject}" is not within the subjects of stream "AUDIT" ` +
  '(["audit.>","orders.*.audit"]): give one within them (subject), or add it to the stream\'s subjects';

it.each(["nope.x", "audit", "orders.eu"])(
  "refuses subject %s as a configuration error naming the stream's subjects",
  async (subject) => {
    const opened = createNatsSource({
      servers: server.url,
      stream: "AUDIT",
      consumer: `out-${subject.replaceAll(".", "_")}`,
      subject,
    });
    await expect(opened).rejects.toThrow(AuditConfigError);
    await expect(opened).rejects.toThrow(outside(subject));
  },
);

it("takes a subject within the stream's, wildcards included", async () => {
  for (const subject of ["audit.x", "audit.*", "orders.eu.audit", "orders.*.audit"]) {
    const source = await createNatsSource({
      servers: server.url,
      stream: "AUDIT",
      consumer: `in-${subject.replaceAll(/[.*]/g, "_")}`,
      subject,
    });
    await source.close();
  }
  const nc = await natsConnection(server.url);
  const jsm = await jetstreamManager(nc);
  const filters = [];
  for await (const info of jsm.consumers.list("AUDIT"))
    if (info.name.startsWith("in-")) filters.push(info.config.filter_subject);
  await nc.close();
  expect(filters.sort()).toStrictEqual(["audit.*", "audit.x", "orders.*.audit", "orders.eu.audit"]);
});

it("grpc-audit ingest --subject outside the stream's exits 2 with that refusal", async () => {
  const refused = sourceOpener({
    from: server.url,
    stream: "AUDIT",
    consumer: "cli",
    subject: "nope.x",
  }).open();
  await expect(refused).rejects.toThrow(CliError);
  await expect(refused).rejects.toThrow(
    expect.objectContaining({ exitCode: EXIT_USAGE, message: `${server.url}: ${outside("nope.x")}` }),
  );
});

it("leaves other refusals of a consumer as the server's", async () => {
  const nc = await natsConnection(server.url);
  const jsm = await jetstreamManager(nc);
  // A durable that exists with another filter is refused by the source's own check, not this one.
  await jsm.consumers.add("AUDIT", {
    durable_name: "other",
    ack_policy: AckPolicy.Explicit,
    filter_subject: "audit.a",
  });
  await nc.close();
  const opened = createNatsSource({
    servers: server.url,
    stream: "AUDIT",
    consumer: "other",
    subject: "nope.x",
  });
  await expect(opened).rejects.toThrow(
    'nats source: consumer "other" of stream "AUDIT" filters ["audit.a"], not "nope.x" as asked',
  );
});
