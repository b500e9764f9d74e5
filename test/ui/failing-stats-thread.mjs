// A counting thread for test/ui/stats-worker.test.ts: the first one started fails on its first request
// (it throws, or exits, as the test's environment data says), every later one is the real thread.
import { getEnvironmentData, parentPort } from "node:worker_threads";

const { started, failure, realThread } = getEnvironmentData("grpc-audit-failing-stats-thread");
if (Atomics.add(started, 0, 1) === 0) {
  parentPort.once("message", () => {
    if (failure === "exit") process.exit(7);
    throw new Error("the thread ran out of memory");
  });
} else {
  await import(realThread);
}
