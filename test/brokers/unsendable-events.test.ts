/**
 * Events the broker can never take once its message limit is smaller than when they were accepted:
 * spooled by a process whose broker took more (a restart with a smaller limit), or queued or spooled
 * when a NATS server came back with a smaller max_payload. They used to be retried for ever, blocking
 * every event behind them; they are dropped as "too_large", counted, and delivery goes on.
 */
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBrokerEmitter } from "../../src/brokers/broker-emitter.js";
import type { DeliveryEmitter } from "../../src/delivery/index.js";
import { decodeEvent, encodeEvent } from "../../src/event/serialize.js";
import { errorCollector, id, numberedEvent, tempDir } from "../delivery/helpers.js";
import { until } from "../helpers/fake-sink.js";
import { fakeBroker } from "./fake-broker.js";

const LARGE_LIMIT = 65_536;
const SMALL_LIMIT = 4096;

let spoolPath: string;
let removeDir: () => void;
const emitters: DeliveryEmitter[] = [];

beforeEach(() => {
  const temp = tempDir("unsendable");
  spoolPath = path.join(temp.dir, "spool.db");
  removeDir = temp.remove;
});

afterEach(async () => {
  await Promise.all(emitters.splice(0).map((emitter) => emitter.close({ timeoutMs: 50 })));
  removeDir();
});

const small = (n: number) => numberedEvent(n);
/** Over the sink's maxEventBytes under SMALL_LIMIT (4096 less 1 KiB for headers), well within LARGE_LIMIT. */
const large = (n: number) => ({ ...numberedEvent(n), operation: "o".repeat(8000) });
/** Within maxEventBytes under SMALL_LIMIT, but its service, repeated in a header, takes the message over it. */
const longService = (n: number) => ({ ...numberedEvent(n), service: "s".repeat(2000) });

const ackedIds = (broker: ReturnType<typeof fakeBroker>) =>
  broker.acked.map((message) => decodeEvent(message.value).eventId);

describe("broker emitter: events the broker can no longer take", () => {
  it("drops and counts spooled events a restarted process's broker never takes, and replays the rest", async () => {
    expect(encodeEvent(longService(3)).length).toBeLessThan(SMALL_LIMIT - 1024);
    const before = fakeBroker({ maxMessageBytes: LARGE_LIMIT });
    before.failWith = new Error("broker down");
    const first = createBrokerEmitter({
      broker: before,
      topic: "t",
      delivery: { spool: { path: spoolPath } },
    });
    for (const event of [small(1), large(2), longService(3), small(4)]) first.emit(event);
    expect(await first.close({ timeoutMs: 20 })).toMatchObject({ spooled: 4, dropped: 0, pending: 4 });

    const after = fakeBroker({ maxMessageBytes: SMALL_LIMIT });
    const { errors, onError } = errorCollector();
    const emitter = createBrokerEmitter({
      broker: after,
      topic: "t",
      delivery: { spool: { path: spoolPath }, onError },
    });
    emitters.push(emitter);
    const report = await emitter.flush({ timeoutMs: 5000 });

    expect(report).toMatchObject({ ok: true, pending: 0 });
    expect(ackedIds(after)).toStrictEqual([id(1), id(4)]);
    expect(emitter.stats()).toMatchObject({
      dropped: { too_large: 2 },
      droppedByReasonAndKind: { too_large: { "authz.decision": 2 } },
      delivered: 2,
      replayed: 2,
      spoolEvents: 0,
    });
    expect(errors.map((error) => error.message)).toContain(
      "fake:t: dropped 1 event (too_large): larger than maxEventBytes or than the sink takes",
    );
  });

  it.each([
    ["queued", false],
    ["spooled", true],
  ])(
    "drops and counts a %s event over a limit that shrank while it waited, and delivers the rest",
    async (_, spool) => {
      const broker = fakeBroker({ maxMessageBytes: LARGE_LIMIT });
      broker.failWith = new Error("broker down");
      const emitter = createBrokerEmitter({
        broker,
        topic: "t",
        delivery: {
          retry: { initialDelayMs: 1, maxDelayMs: 5 },
          ...(spool ? { spool: { path: spoolPath, spoolAfterAttempts: 1, commitIntervalMs: 5 } } : {}),
        },
      });
      emitters.push(emitter);
      for (const event of [small(1), large(2), small(3)]) emitter.emit(event);
      await until(() => broker.calls.length > 0 && (!spool || emitter.stats().spoolEvents === 3));
      // The server came back with a smaller max_payload: the batch being retried can never go as it is.
      broker.maxMessageBytes = SMALL_LIMIT;
      broker.failWith = undefined;
      const report = await emitter.flush({ timeoutMs: 5000 });

      expect(report).toMatchObject({
        ok: false,
        results: [
          {
            status: "error",
            error: expect.objectContaining({ message: "fake:t: flush dropped 1 event (too_large 1)" }),
          },
        ],
        pending: 0,
      });
      expect(ackedIds(broker)).toStrictEqual([id(1), id(3)]);
      expect(emitter.stats()).toMatchObject({
        accepted: 3,
        delivered: 2,
        dropped: { too_large: 1 },
        queueEvents: 0,
        spoolEvents: 0,
      });
    },
  );
});
