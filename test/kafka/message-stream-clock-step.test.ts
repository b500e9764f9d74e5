/**
 * A wall clock that steps back while the Kafka source waits for messages does not stretch the wait
 * past `maxWaitMs`: its deadline is on a monotonic clock. The stream is a stand-in at the client
 * boundary that has nothing to read and says "readable" once, as the client's stream does when a
 * fetch brings nothing for the partitions read.
 */
import { afterEach, expect, it, vi } from "vitest";
import {
  type KafkaMessageStream,
  type KafkaStreamEvent,
  take,
  watchStream,
} from "../../src/kafka/message-stream.js";
import { recordTimerDelays, stepWallClockBack } from "../helpers/clock-step.js";

afterEach(() => {
  vi.restoreAllMocks();
});

it("take() waits no longer than maxWaitMs when the wall clock steps back during the wait", async () => {
  const listeners = new Map<KafkaStreamEvent, (error?: Error) => void>();
  const stream: KafkaMessageStream = {
    read: () => null,
    on: (event, listener) => listeners.set(event, listener),
    close: async () => {},
  };
  const open = watchStream(stream);
  const delays = recordTimerDelays("kafka", 300);
  const taking = take(open, 10, 300, new AbortController().signal);
  stepWallClockBack();
  listeners.get("readable")?.(); // nothing to read after all: take() waits again for what is left
  expect(await taking).toStrictEqual([]);
  expect(delays.length).toBeGreaterThanOrEqual(2);
  expect(Math.max(...delays)).toBeLessThanOrEqual(300);
}, 5000); // stretched, its capped timers would go round for 60 s
