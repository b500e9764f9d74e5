// Review R123: a stream kept under 2 minutes was refused by the server with a raw JetStreamApiError
// ("duplicates window can not be larger then max age": the window was always sent as 2 minutes), an
// explicit window longer than maxAgeMs reached the server the same way, ensureAuditStream's option errors
// named no function, and createNatsBroker took an ackTimeoutMs no Node timer holds (every publish then
// timed out after 1 ms). Against a real nats-server -js.
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { createNatsBroker, ensureAuditStream } from "../../src/nats/index.js";
import { useNatsServer } from "../helpers/nats-suite.js";

const nc = useNatsServer();

const MS = 1_000_000;

describe("ensureAuditStream's duplicate window and maxAgeMs", () => {
  it("creates a stream kept for 1 minute with the window at maxAgeMs, as the server's own default", async () => {
    const created = await ensureAuditStream(nc(), {
      name: "AGE_60S",
      subjects: ["age60.>"],
      maxAgeMs: 60_000,
    });
    // What the server itself sets when the window is left out, for the same max_age.
    const jsm = await jetstreamManager(nc());
    const raw = await jsm.streams.add({
      name: "AGE_60S_RAW",
      subjects: ["age60raw.>"],
      max_age: 60_000 * MS,
    });
    const again = await ensureAuditStream(nc(), { name: "AGE_60S", subjects: ["age60.>"], maxAgeMs: 60_000 });

    expect(created.action).toBe("created");
    expect(created.info.config).toMatchObject({ duplicate_window: 60_000 * MS, max_age: 60_000 * MS });
    expect(raw.config.duplicate_window).toBe(created.info.config.duplicate_window);
    expect(again.action).toBe("unchanged");
  });

  it("keeps the 2-minute window when maxAgeMs is longer, and brings an existing stream down to a shorter age", async () => {
    const long = await ensureAuditStream(nc(), {
      name: "AGE_LONG",
      subjects: ["agelong.>"],
      maxAgeMs: 3_600_000,
    });
    const shortened = await ensureAuditStream(nc(), {
      name: "AGE_LONG",
      subjects: ["agelong.>"],
      maxAgeMs: 30_000,
    });

    expect(long.info.config.duplicate_window).toBe(120_000 * MS);
    expect(shortened.action).toBe("updated");
    expect(shortened.info.config).toMatchObject({ duplicate_window: 30_000 * MS, max_age: 30_000 * MS });
  });

  it("refuses an explicit window longer than maxAgeMs, naming both options, and makes no stream", async () => {
    const ensuring = ensureAuditStream(nc(), {
      name: "AGE_WINDOW",
      subjects: ["agewindow.>"],
      maxAgeMs: 60_000,
      duplicateWindowMs: 600_000,
    });
    await expect(ensuring).rejects.toThrow(
      new AuditConfigError(
        "ensureAuditStream: duplicateWindowMs: must be at most maxAgeMs (60000), got 600000: the server " +
          "refuses a duplicate window longer than it keeps messages; shorten duplicateWindowMs or lengthen maxAgeMs",
      ),
    );
    const jsm = await jetstreamManager(nc());
    await expect(jsm.streams.info("AGE_WINDOW")).rejects.toThrow(/stream not found/);
    // The bounds: a window equal to maxAgeMs, and any window when messages are kept for ever.
    const equal = await ensureAuditStream(nc(), {
      name: "AGE_EQUAL",
      subjects: ["ageequal.>"],
      maxAgeMs: 60_000,
      duplicateWindowMs: 60_000,
    });
    const forever = await ensureAuditStream(nc(), {
      name: "AGE_FOREVER",
      subjects: ["ageforever.>"],
      duplicateWindowMs: 600_000,
    });
    expect(equal.info.config.duplicate_window).toBe(60_000 * MS);
    expect(forever.info.config).toMatchObject({ duplicate_window: 600_000 * MS, max_age: 0 });
  });
});

describe("ensureAuditStream's option errors", () => {
  it.each([
    [{ subjects: ["x"] }, "ensureAuditStream: name: a stream name is required, got undefined"],
    [
      { name: "X", subjects: ["x"], maxBytes: 0 },
      "ensureAuditStream: maxBytes: must be a positive integer, or -1 for no limit, got 0",
    ],
    [
      { name: "X", subjects: ["x"], maxAgeMs: -1 },
      "ensureAuditStream: maxAgeMs: must be 0 (for ever) or an integer of at least 100 (ms, the least NATS takes), got -1",
    ],
    // NATS answered these with a raw "max age needs to be >= 100ms" (review R124)
    [
      { name: "X", subjects: ["x"], maxAgeMs: 99 },
      "ensureAuditStream: maxAgeMs: must be 0 (for ever) or an integer of at least 100 (ms, the least NATS takes), got 99",
    ],
  ])("begin with the function's name and say what is accepted (%o)", async (options, message) => {
    await expect(ensureAuditStream(nc(), options as never)).rejects.toThrow(new AuditConfigError(message));
  });
  // NATS's own refusals came as they were (JetStreamApiError, InvalidNameError) (review R127)
  it("name the stream and give NATS's words for what the server or the client refuses", async () => {
    await ensureAuditStream(nc(), { name: "OVERLAP_A", subjects: ["overlap.>"] });
    const overlapping = ensureAuditStream(nc(), { name: "OVERLAP_B", subjects: ["overlap.x"] });
    await expect(overlapping).rejects.toThrow(
      new AuditConfigError(
        'ensureAuditStream: stream "OVERLAP_B": NATS refused it: subjects overlap with an existing stream',
      ),
    );
    await expect(ensureAuditStream(nc(), { name: "A.8", subjects: ["a8.>"] })).rejects.toThrow(
      new AuditConfigError("ensureAuditStream: name: stream name ('A.8') cannot contain '.'"),
    );
  });
});

describe("createNatsBroker's ackTimeoutMs", () => {
  it.each([2 ** 31, 1e12])(
    "refuses %d, which no Node timer holds, at creation, and takes 2^31 - 1",
    async (ackTimeoutMs) => {
      const creating = createNatsBroker({ connection: nc(), ackTimeoutMs });
      await expect(creating).rejects.toThrow(
        new AuditConfigError(
          `nats broker: \`ackTimeoutMs\` must be an integer of ms from 1 to 2147483647 (what a timer holds), got ${ackTimeoutMs}`,
        ),
      );
      const longest = await createNatsBroker({ connection: nc(), ackTimeoutMs: 2 ** 31 - 1 });
      await longest.close();
    },
  );
});
