// A `newEventId` that returns an empty string names no event: stores and brokers key events by id,
// and the delivery pipeline refuses such an event only later. The Recorder fails it at once, counted
// and reported, as it does an id that is not a string.
import { expect, it } from "vitest";
import { fixedRecorder } from "../helpers/recorder.js";

it("fails an event whose newEventId() returned an empty string: counted, reported, not emitted", () => {
  const { recorder, memory, errors } = fixedRecorder({ newEventId: () => "" });
  const outcome = recorder.recordResourceMutation({
    mutation: "delete",
    resourceType: "doc",
    resourceId: "d1",
  });
  expect(outcome).toBe("failed");
  expect(recorder.stats()).toMatchObject({ accepted: 0, dropped: 0, failed: 1 });
  expect(memory.events).toStrictEqual([]);
  expect(errors.map((e) => [e.name, e.message, (e.cause as Error).message])).toStrictEqual([
    [
      "AuditError",
      "recorder: the event could not be built",
      "newEventId() did not return a non-empty string",
    ],
  ]);
});
