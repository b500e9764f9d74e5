import { DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
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
    ).rejects.toThrow(
      'ensureAuditStream: storage: stream "AUDIT_D" exists with file storage, which cannot change to memory',
    );
  });

  it("brings a stream that deletes its oldest messages per subject or by count back to keeping them all", async () => {
    const jsm = await jetstreamManager(nc());
    await jsm.streams.add({
      name: "AUDIT_Q",
      subjects: ["q.>"],
      max_msgs_per_subject: 10,
      max_msgs: 20,
      discard: DiscardPolicy.New,
      discard_new_per_subject: true,
    });
    const ensured = await ensureAuditStream(nc(), { name: "AUDIT_Q", subjects: ["q.>"] });
    const js = jetstream(nc());
    for (let i = 0; i < 50; i++) await js.publish("q.projects", new Uint8Array([i]));
    const again = await ensureAuditStream(nc(), { name: "AUDIT_Q", subjects: ["q.>"] });

    expect(ensured.action).toBe("updated");
    expect(ensured.info.config).toMatchObject({ max_msgs_per_subject: -1, max_msgs: -1, discard: "new" });
    expect((await jsm.streams.info("AUDIT_Q")).state.messages).toBe(50);
    expect(again.action).toBe("unchanged");
  });

  it.each([
    [
      RetentionPolicy.Interest,
      "it deletes a message once every consumer acknowledged it, and at once when no consumer is interested",
    ],
    [RetentionPolicy.Workqueue, "it deletes a message once a consumer acknowledged it"],
  ])(
    "refuses an existing stream with %s retention, which NATS cannot change, and leaves it as it was",
    async (retention, deletes) => {
      const jsm = await jetstreamManager(nc());
      const name = `AUDIT_${retention.toUpperCase()}`;
      const made = await jsm.streams.add({ name, subjects: [`${retention}.>`], retention });

      const ensuring = ensureAuditStream(nc(), { name, subjects: [`${retention}.>`], maxAgeMs: 60_000 });
      await expect(ensuring).rejects.toThrow(AuditConfigError);
      await expect(ensuring).rejects.toThrow(
        `ensureAuditStream: retention: stream "${name}" exists with ${retention} retention (${deletes}), and NATS cannot change ` +
          "a stream's retention: once ingest has stored its messages, delete it and call ensureAuditStream " +
          "again (or use a new stream, on subjects of its own)",
      );
      expect((await jsm.streams.info(name)).config).toStrictEqual(made.config);
    },
  );

  it("refuses replicas above 1 on a JetStream that is not clustered, for a new or an existing stream", async () => {
    const message = (name: string) =>
      `ensureAuditStream: replicas: stream "${name}" cannot have 3 copies: this JetStream is not clustered and keeps one; ` +
      "ask replicas 1, or make the stream on a JetStream cluster";
    await ensureAuditStream(nc(), { name: "AUDIT_R", subjects: ["r.>"] });

    const existing = ensureAuditStream(nc(), { name: "AUDIT_R", subjects: ["r.>"], replicas: 3 });
    const created = ensureAuditStream(nc(), { name: "AUDIT_R3", subjects: ["r3.>"], replicas: 3 });
    await expect(existing).rejects.toThrow(AuditConfigError);
    await expect(existing).rejects.toThrow(message("AUDIT_R"));
    await expect(created).rejects.toThrow(AuditConfigError);
    await expect(created).rejects.toThrow(message("AUDIT_R3"));
    const jsm = await jetstreamManager(nc());
    expect((await jsm.streams.info("AUDIT_R")).config.num_replicas).toBe(1);
  });

  it("names what is missing when the connection or the options are not given", async () => {
    const noTarget = ensureAuditStream(undefined as never, { name: "X", subjects: ["x"] });
    const noOptions = ensureAuditStream(nc(), undefined as never);
    await expect(noTarget).rejects.toThrow(
      new AuditConfigError(
        "ensureAuditStream: the first argument must be a NatsConnection or a JetStreamManager, got undefined",
      ),
    );
    await expect(noOptions).rejects.toThrow(
      new AuditConfigError("ensureAuditStream: options must be an object, got undefined"),
    );
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
      ["no name", { subjects: ["x"] }, /^ensureAuditStream: name: /],
      ["no subjects", { name: "X", subjects: [] }, /^ensureAuditStream: subjects: /],
      [
        "a zero duplicate window",
        { name: "X", subjects: ["x"], duplicateWindowMs: 0 },
        /^ensureAuditStream: duplicateWindowMs: /,
      ],
      ["a zero size limit", { name: "X", subjects: ["x"], maxBytes: 0 }, /^ensureAuditStream: maxBytes: /],
      ["a negative age", { name: "X", subjects: ["x"], maxAgeMs: -1 }, /^ensureAuditStream: maxAgeMs: /],
      ["no replicas", { name: "X", subjects: ["x"], replicas: 0 }, /^ensureAuditStream: replicas: /],
      [
        "an unknown storage",
        { name: "X", subjects: ["x"], storage: "disk" },
        /^ensureAuditStream: storage: /,
      ],
      [
        "a domain with a dot",
        { name: "X", subjects: ["x"], domain: "hub.east" },
        /^ensureAuditStream: domain: /,
      ],
      ["an empty domain", { name: "X", subjects: ["x"], domain: "" }, /^ensureAuditStream: domain: /],
      [
        "a misspelt option",
        { name: "X", subjects: ["x"], maxAge: 60_000 },
        /^ensureAuditStream: unknown option `maxAge` \(did you mean `maxAgeMs`\?\)$/,
      ],
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
