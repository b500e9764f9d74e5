// A Recorder made by one copy of this library, given to the interceptors of another (a dependency that
// pins another version): the interceptors must find its count of records to come, so that close()
// waits for their calls, and its status message policy. A second copy of each module is loaded here
// under another URL, as a second install of the package would be.
import { expect, it } from "vitest";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createRecorder } from "../../src/recorder/recorder.js";

type PendingModule = typeof import("../../src/recorder/pending-records.js");
type PolicyModule = typeof import("../../src/recorder/status-messages-of.js");

/** A second instance of a module of src/recorder, as another install of the package would load it. */
const anotherCopy = (file: string) =>
  import(new URL(`../../src/recorder/${file}?another-copy`, import.meta.url).href);

it("another copy's interceptors find a Recorder's pending count: close() waits for their call", async () => {
  const copy: PendingModule = await anotherCopy("pending-records.ts");
  const recorder = createRecorder({ service: "projects", emitters: [createMemoryEmitter()] });
  const pending = copy.pendingRecordsOf(recorder);
  expect(pending).not.toBe(copy.NO_PENDING_RECORDS);

  pending.add(); // a call in flight, as the other copy's rules interceptor notes it
  let closed = false;
  const closing = recorder.close().then((report) => {
    closed = true;
    return report;
  });
  await new Promise((resolve) => setImmediate(resolve));
  expect(closed).toBe(false);
  pending.done();
  expect((await closing).ok).toBe(true);
});

it("another copy's interceptors find a Recorder's status message policy", async () => {
  const copy: PolicyModule = await anotherCopy("status-messages-of.ts");
  const recorder = createRecorder({
    service: "projects",
    emitters: [createMemoryEmitter()],
    statusMessages: "omit",
  });
  expect(copy.statusMessagesOf(recorder)).toBe("omit");
  expect(copy.statusMessagesOf({ close() {} })).toBeUndefined();
  await recorder.close();
});
