/**
 * `grpc-audit ingest --from kafka://…` as a child process when the broker refuses the credentials:
 * the error names Kafka's reason, never the password. Against a loopback stand-in that speaks the
 * Kafka wire protocol (test/kafka/wire-broker/: no Kafka broker can run here), which checks SASL
 * PLAIN credentials as Kafka does.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, runCli, tempDir } from "../cli/helpers.js";
import { startWireBroker, type WireBroker } from "../kafka/wire-broker/index.js";

const PASSWORD = "s3cr3t-Pa55";
let kafka: WireBroker;
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);
beforeEach(async () => {
  kafka = await startWireBroker();
});
afterEach(async () => {
  await kafka.close();
});

it("a wrong SASL password: exit 1 naming SASL_AUTHENTICATION_FAILED, without the password", async () => {
  kafka.createTopic("audit-events");
  kafka.state.saslUsers.set("audit", "the-right-one");
  const [broker] = kafka.bootstrapBrokers;
  const db = join(tempDir(), "audit.db");
  const run = await runCli(
    ["ingest", "--from", `kafka://${broker}`, "--topic", "audit-events", "--group", "ingest"].concat([
      "--user",
      "audit",
      "--sasl",
      "PLAIN",
      "--to",
      db,
    ]),
    { env: { GRPC_AUDIT_BROKER_PASSWORD: PASSWORD } },
  );
  expect(run.stderr).toBe(
    `error: kafka://${broker}: joining group "ingest" on topic "audit-events" ` +
      `failed: Connection to ${broker} failed (SASL authentication failed (SASL_AUTHENTICATION_FAILED))\n`,
  );
  expect(run.code).toBe(1);
  expect(run.stdout).toBe("");
  expect(`${run.stdout}${run.stderr}`).not.toContain(PASSWORD);
  expect(existsSync(db)).toBe(false);
}, 60_000);
