import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { type AuditStreamOptions, ensureAuditStream } from "../../src/nats/index.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

const MS = 1_000_000;

describe("ensureAuditStream", () => {
  it("creates the stream with the given settings and discard-new, and then changes nothing", async () => {
    const options = { name: "AUDIT_A", subjects: ["a.>"], duplicateWindowMs: 30_000, maxBytes: 1 << 20 };
    const created = await ensureAuditStream(nc(), options);
    const again = await ensureAuditStream(nc(), options);
    const viaManager = await ensureAuditStream(await jetstreamManager(nc()), options);

    expect(created.action).toBe("created");
    expect(created.info.config).toMatchObject({
      name: "AUDIT_A",
      subjects: ["a.>"],
      duplicate_window: 30_000 * MS,
      max_bytes: 1 << 20,
      max_age: 0,
      num_replicas: 1,
      discard: "new",
      storage: "file",
    });
    expect(again.action).toBe("unchanged");
    expect(viaManager.action).toBe("unchanged");
    expect(again.info.config).toStrictEqual(created.info.config);
  });

  it("uses a two-minute duplicate window and no size or age limit by default", async () => {
    const { info } = await ensureAuditStream(nc(), { name: "AUDIT_B", subjects: ["b.>"] });
    expect(info.config).toMatchObject({ duplicate_window: 120_000 * MS, max_bytes: -1, max_age: 0 });
  });

  it("updates an existing stream to new settings and keeps its messages", async () => {
    await ensureAuditStream(nc(), { name: "AUDIT_C", subjects: ["c.>"] });
    await nc().request("c.x", new Uint8Array([1]));
    const updated = await ensureAuditStream(nc(), {
      name: "AUDIT_C",
      subjects: ["c.>", "c2.>"],
      duplicateWindowMs: 600_000,
      maxAgeMs: 86_400_000,
    });
    const unchanged = await ensureAuditStream(nc(), {
      name: "AUDIT_C",
      subjects: ["c2.>", "c.>"],
      duplicateWindowMs: 600_000,
      maxAgeMs: 86_400_000,
    });

    expect(updated.action).toBe("updated");
    expect(updated.info.config).toMatchObject({
      subjects: ["c.>", "c2.>"],
      duplicate_window: 600_000 * MS,
      max_age: 86_400_000 * MS,
    });
    expect(updated.info.state.messages).toBe(1);
    expect(unchanged.action).toBe("unchanged");
  });

  it("refuses to change the storage of an existing stream", async () => {
    await ensureAuditStream(nc(), { name: "AUDIT_D", subjects: ["d.>"] });
    await expect(
      ensureAuditStream(nc(), { name: "AUDIT_D", subjects: ["d.>"], storage: "memory" }),
    ).rejects.toThrow('storage: stream "AUDIT_D" exists with file storage, which cannot change to memory');
  });

  it("refuses a domain beside a JetStreamManager, which has its own", async () => {
    const ensuring = ensureAuditStream(await jetstreamManager(nc()), {
      name: "AUDIT_E",
      subjects: ["e.>"],
      domain: "hub",
    });
    await expect(ensuring).rejects.toThrow(AuditConfigError);
    await expect(ensuring).rejects.toThrow(
      "domain: a JetStreamManager has its own domain; pass a connection, or make the manager with it",
    );
  });

  describe("rejects bad options, naming the option", () => {
    const cases: [string, unknown, RegExp][] = [
      ["no name", { subjects: ["x"] }, /^name: /],
      ["no subjects", { name: "X", subjects: [] }, /^subjects: /],
      [
        "a zero duplicate window",
        { name: "X", subjects: ["x"], duplicateWindowMs: 0 },
        /^duplicateWindowMs: /,
      ],
      ["a zero size limit", { name: "X", subjects: ["x"], maxBytes: 0 }, /^maxBytes: /],
      ["a negative age", { name: "X", subjects: ["x"], maxAgeMs: -1 }, /^maxAgeMs: /],
      ["no replicas", { name: "X", subjects: ["x"], replicas: 0 }, /^replicas: /],
      ["an unknown storage", { name: "X", subjects: ["x"], storage: "disk" }, /^storage: /],
      ["a domain with a dot", { name: "X", subjects: ["x"], domain: "hub.east" }, /^domain: /],
      ["an empty domain", { name: "X", subjects: ["x"], domain: "" }, /^domain: /],
    ];
    for (const [what, options, message] of cases) {
      it(what, async () => {
        const ensuring = ensureAuditStream(nc(), options as AuditStreamOptions);
        await expect(ensuring).rejects.toThrow(AuditConfigError);
        await expect(ensuring).rejects.toThrow(message);
      });
    }
  });
});
