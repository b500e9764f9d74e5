/**
 * `grpc-audit ingest --from kafka://…` as a child process, stopped while its JoinGroup (with its member
 * id) is at the coordinator: it still leaves the group before it exits 0, so the group does not wait
 * for the dead member's session to time out; a second stop signal, of another kind than the first,
 * ends it at once, also while running (here: while leaving the group). Against the loopback stand-in that speaks the Kafka wire protocol
 * (test/kafka/wire-broker/: no Kafka broker can run here), whose `holdAnswer` holds the join's answer.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, startCli, tempDir } from "../cli/helpers.js";
import { startWireBroker, type WireBroker } from "../kafka/wire-broker/index.js";
import { until } from "./fleet.js";

const TOPIC = "audit-events";
const GROUP = "ingest";
let kafka: WireBroker;
beforeAll(ensureBuilt, BUILD_TIMEOUT_MS);
beforeEach(async () => {
  kafka = await startWireBroker();
  kafka.createTopic(TOPIC, { partitions: 2 });
});
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children) child.kill("SIGKILL"); // those a failed test left running
  children.length = 0;
  await kafka.close();
});

/** Starts ingest of TOPIC into a new SQLite store, group GROUP. */
function startKafkaIngest() {
  const [broker = ""] = kafka.bootstrapBrokers;
  const db = join(tempDir(), "audit.db");
  const child = startCli([
    "ingest",
    "--from",
    `kafka://${broker}`,
    "--topic",
    TOPIC,
    "--group",
    GROUP,
    "--to",
    db,
  ]);
  children.push(child);
  const out = { stderr: "" };
  child.stderr.on("data", (chunk: Buffer) => {
    out.stderr += chunk.toString();
  });
  const exited = once(child, "close").then(([code, signal]) => ({ code, signal }));
  return { child, out, exited };
}

/**
 * Holds the answer of the join that carries the member id (the second JoinGroup: the first is
 * answered MEMBER_ID_REQUIRED) until `letGo`; records every API the broker served.
 */
function holdJoinWithMemberId() {
  const served: string[] = [];
  let letGo = () => {};
  const held = new Promise<void>((resolve) => {
    letGo = resolve;
  });
  kafka.state.holdAnswer = (api) => {
    served.push(api);
    return api === "JoinGroup" && served.filter((a) => a === "JoinGroup").length === 2 ? held : undefined;
  };
  const members = () => kafka.state.coordinator.groups.get(GROUP)?.members.size ?? 0;
  const joinHeld = () => served.filter((a) => a === "JoinGroup").length === 2 && members() === 1;
  return { served, letGo, members, joinHeld };
}

it("SIGTERM while joining the group: leaves the group, then exits 0", async () => {
  const joining = holdJoinWithMemberId();
  const run = startKafkaIngest();
  try {
    await until(joining.joinHeld, "the JoinGroup with the member id held");
    run.child.kill("SIGTERM");
    await until(() => run.out.stderr.includes("stopped before ingesting"), "the stop seen");
    // The join completes only now, after the signal: the member must still leave.
    joining.letGo();
    expect(await run.exited).toStrictEqual({ code: 0, signal: null });
    expect(run.out.stderr).toBe("ingest: stopped before ingesting\n");
    expect(joining.served).toContain("LeaveGroup");
    expect(joining.members()).toBe(0);
  } finally {
    joining.letGo();
  }
}, 60_000);

it("SIGTERM, then SIGINT, while joining the group: the SIGINT ends it at once", async () => {
  const joining = holdJoinWithMemberId();
  const run = startKafkaIngest();
  try {
    await until(joining.joinHeld, "the JoinGroup with the member id held");
    run.child.kill("SIGTERM");
    await until(() => run.out.stderr.includes("stopped before ingesting"), "the stop seen");
    // The join stays held: only the second signal can end the wait for it.
    run.child.kill("SIGINT");
    expect(await run.exited).toStrictEqual({ code: null, signal: "SIGINT" });
    expect(run.out.stderr).toBe("ingest: stopped before ingesting\n");
  } finally {
    joining.letGo();
  }
}, 60_000);

it("SIGTERM, then SIGINT, while leaving the group when stopped: the SIGINT ends it at once", async () => {
  const served: string[] = [];
  let letGo = () => {};
  const held = new Promise<void>((resolve) => {
    letGo = resolve;
  });
  kafka.state.holdAnswer = (api) => {
    served.push(api);
    return api === "LeaveGroup" ? held : undefined;
  };
  const run = startKafkaIngest();
  try {
    await until(() => run.out.stderr.includes("(Ctrl-C to stop)"), "ingest started");
    run.child.kill("SIGTERM");
    // The LeaveGroup is the stop under way: its answer stays held.
    await until(() => served.includes("LeaveGroup"), "the LeaveGroup of the stop");
    run.child.kill("SIGINT");
    expect(await run.exited).toStrictEqual({ code: null, signal: "SIGINT" });
  } finally {
    letGo();
  }
}, 60_000);
