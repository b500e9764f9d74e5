// A checkpoint's v1 signature covered the chain's head, not the event around it: a final checkpoint
// rewritten into "alice DeleteProject project:p-1" (its own hash recomputed) still verified as sealed.
// Recorders now sign statement v2, which covers the checkpoint event too; and verify reports as
// modified a checkpoint event holding anything a Recorder does not write into one, which is what
// still catches such an edit of a v1 checkpoint (written before v2, verified under the v1 rules).
import { describe, expect, it } from "vitest";
import { chainHash } from "../../src/chain/canonical.js";
import { signCheckpoint } from "../../src/chain/checkpoint.js";
import { verifyChains } from "../../src/chain/verify.js";
import { ActorType, type AuditEvent, EventType } from "../../src/gen/grpcaudit/v1/event.js";
import { rehashed } from "./tamper.js";
import { PUBLIC_KEYS, recordTrail, SIGNING_KEY } from "./trail.js";

/** The trail as a Recorder that signed v1 statements wrote it: each checkpoint signed again, the chain relinked. */
function asV1(trail: readonly AuditEvent[]): AuditEvent[] {
  let head = "";
  return trail.map((event) => {
    if (event.chain === undefined) throw new Error("no chain");
    let copy: AuditEvent = { ...event, chain: { ...event.chain, prevHash: head, hash: "" } };
    if (copy.detail?.$case === "checkpoint" && copy.chain !== undefined) {
      const detail = { ...copy.detail.value, headHash: head };
      detail.signature = signCheckpoint(SIGNING_KEY, copy.chain.chainId, detail);
      copy = { ...copy, detail: { $case: "checkpoint", value: detail } };
    }
    const hash = chainHash(copy);
    head = hash;
    return { ...copy, chain: { ...(copy.chain as NonNullable<AuditEvent["chain"]>), hash } };
  });
}

/** A sealed trail (4 mutations, a checkpoint after 2, the final one), v1 or v2, its event at `index` changed by `change` and rehashed. */
async function withCheckpointChanged(
  version: "v1" | "v2",
  index: number,
  change: (event: AuditEvent) => AuditEvent,
) {
  const recorded = await recordTrail(4, { checkpointEvery: 2 });
  const trail = version === "v1" ? asV1(recorded) : recorded;
  const event = trail.at(index);
  if (event?.detail?.$case !== "checkpoint") throw new Error("not a checkpoint");
  trail.splice(trail.indexOf(event), 1, rehashed(change(event)));
  const report = await verifyChains(trail, { publicKeys: PUBLIC_KEYS, expectSealed: true });
  const findings = report.chains[0]?.findings.map((f) => [f.kind, f.seq, f.detail]);
  return { seq: event.chain?.seq ?? 0, report, findings };
}

const notWritten = (field: string) =>
  `the checkpoint event's ${field} is not what a Recorder writes into a checkpoint`;

const CHANGES: [string, (event: AuditEvent) => AuditEvent, string][] = [
  [
    "type",
    (e) => ({ ...e, eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION }),
    "the checkpoint event has type resource.mutation, which no Recorder gives a checkpoint",
  ],
  ["service", (e) => ({ ...e, service: "billing" }), notWritten("service")],
  ["operation", (e) => ({ ...e, operation: "/acme.v1.Projects/DeleteProject" }), notWritten("operation")],
  [
    "actor",
    (e) => ({
      ...e,
      actor: {
        id: "alice",
        type: ActorType.ACTOR_TYPE_USER,
        displayName: "",
        email: "",
        subject: "",
        clientId: "",
        realm: "",
      },
    }),
    notWritten("actor"),
  ],
  ["target", (e) => ({ ...e, target: { type: "project", id: "p-1", name: "" } }), notWritten("target")],
  [
    "result",
    (e) => ({ ...e, result: { success: false, code: "PERMISSION_DENIED", message: "" } }),
    notWritten("result"),
  ],
  ["request id", (e) => ({ ...e, requestId: "r-1" }), notWritten("request id")],
  ["attributes", (e) => ({ ...e, attributes: { approved_by: "cto" } }), notWritten("attributes")],
];

describe("a v1 final checkpoint event rewritten, its own hash recomputed", () => {
  for (const [field, change, detail] of CHANGES) {
    it(`is modified when its ${field} is not what a Recorder writes`, async () => {
      const { seq, report, findings } = await withCheckpointChanged("v1", -1, change);
      expect([report.ok, findings]).toStrictEqual([false, [["modified", seq, detail]]]);
    });
  }

  it("verifies the v1 trail unchanged, sealed (checkpoints written before statement v2)", async () => {
    const { report } = await withCheckpointChanged("v1", -1, (e) => e);
    expect([report.ok, report.chains[0]?.sealed, report.chains[0]?.verifiedCheckpoints]).toStrictEqual([
      true,
      true,
      3,
    ]);
  });
});

describe("a v2 checkpoint event rewritten, its own hash recomputed", () => {
  it.each(CHANGES)(
    "is modified and its signature fails when its %s is changed",
    async (_, change, detail) => {
      const { seq, report, findings } = await withCheckpointChanged("v2", -1, change);
      expect([report.ok, report.chains[0]?.sealed]).toStrictEqual([false, false]);
      expect(findings?.slice(0, 2)).toStrictEqual([
        ["modified", seq, detail],
        ["bad_signature", seq, "the signature does not verify with key audit-test"],
      ]);
    },
  );

  it.each([
    ["time", (e: AuditEvent) => ({ ...e, occurredAt: new Date(Date.UTC(2020, 0, 1)) })],
    ["event id", (e: AuditEvent) => ({ ...e, eventId: "01900000-0000-7000-8000-000000000000" })],
  ])("fails its signature when its %s is changed, which nothing else covers", async (_, change) => {
    const { seq, findings } = await withCheckpointChanged("v2", -1, change);
    expect(findings).toStrictEqual([
      ["bad_signature", seq, "the signature does not verify with key audit-test"],
      [
        "truncated",
        seq,
        `the chain ends at seq ${seq} in a final checkpoint that could not be verified: the signature does not verify with key audit-test`,
      ],
    ]);
  });

  it("names an intermediate checkpoint rewritten, and the link after it", async () => {
    const { seq, findings } = await withCheckpointChanged("v2", 2, (e) => ({ ...e, attributes: { a: "b" } }));
    expect(findings).toStrictEqual([
      ["modified", seq, notWritten("attributes")],
      ["bad_signature", seq, "the signature does not verify with key audit-test"],
      ["broken_link", seq + 1, `prevHash is not the hash of the event at seq ${seq}`],
    ]);
  });
});

it("names an event of the checkpoint type that holds no checkpoint", async () => {
  const trail = await recordTrail(2, { open: true });
  const event = trail[1] as AuditEvent;
  trail[1] = rehashed({ ...event, eventType: EventType.EVENT_TYPE_CHAIN_CHECKPOINT });
  const report = await verifyChains(trail, { publicKeys: PUBLIC_KEYS });
  expect(report.chains[0]?.findings).toStrictEqual([
    {
      kind: "modified",
      seq: 2,
      eventId: event.eventId,
      detail: "the event has the checkpoint type but holds no checkpoint",
    },
  ]);
});

it("finds nothing in checkpoints as a Recorder writes them", async () => {
  const trail = await recordTrail(4, { checkpointEvery: 2 });
  const report = await verifyChains(trail, { publicKeys: PUBLIC_KEYS, expectSealed: true });
  expect([report.ok, report.chains[0]?.sealed, report.chains[0]?.verifiedCheckpoints]).toStrictEqual([
    true,
    true,
    3,
  ]);
});

it("does not take a rewritten v1 checkpoint as the anchor of a pruned prefix", async () => {
  const trail = asV1(await recordTrail(4, { checkpointEvery: 2 }));
  const anchor = trail[2] as AuditEvent; // the checkpoint at seq 3, after seqs 1-2
  const pruned = [rehashed({ ...anchor, attributes: { approved_by: "cto" } }), ...trail.slice(3)];
  const report = await verifyChains(pruned, { publicKeys: PUBLIC_KEYS });
  expect([report.chains[0]?.pruned, report.chains[0]?.findings.map((f) => [f.kind, f.seq])]).toStrictEqual([
    undefined,
    [
      ["missing", 1],
      ["modified", 3],
      ["broken_link", 4],
    ],
  ]);
});
