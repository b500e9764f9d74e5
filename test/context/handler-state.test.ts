// What a call's scope keeps of its handler, as asyncService reports it, and how the rules interceptor
// waits for it.
import { describe, expect, it } from "vitest";
import {
  type HandlerSettlement,
  noteHandlerSettled,
  noteHandlerStarted,
  whenHandlerSettles,
} from "../../src/context/handler-state.js";
import { createAuditScope } from "../../src/context/scope.js";

const NOT_FOUND = { code: 5, details: "no such project" };

function settlements() {
  const seen: HandlerSettlement[] = [];
  return { seen, add: (settlement: HandlerSettlement) => seen.push(settlement) };
}

describe("whenHandlerSettles", () => {
  it("answers at once for a handler nothing reported, or no scope", () => {
    const { seen, add } = settlements();
    whenHandlerSettles(createAuditScope({ operation: "/a.B/C" }), 1000, add);
    whenHandlerSettles(undefined, 1000, add);
    expect(seen).toStrictEqual(["untracked", "untracked"]);
  });

  it("answers at once with the outcome of a handler that already settled", () => {
    const scope = createAuditScope({ operation: "/a.B/C" });
    noteHandlerStarted(scope);
    noteHandlerSettled(scope, NOT_FOUND);
    const { seen, add } = settlements();
    whenHandlerSettles(scope, 1000, add);
    expect(seen).toStrictEqual([NOT_FOUND]);
  });

  it("waits for a running handler, and hands its outcome to every waiter once", () => {
    const scope = createAuditScope({ operation: "/a.B/C" });
    noteHandlerStarted(scope);
    const first = settlements();
    const second = settlements();
    whenHandlerSettles(scope, 60_000, first.add);
    whenHandlerSettles(scope, 60_000, second.add);
    expect([first.seen, second.seen]).toStrictEqual([[], []]);
    noteHandlerSettled(scope, NOT_FOUND);
    noteHandlerSettled(scope, { code: 0, details: "" });
    expect([first.seen, second.seen]).toStrictEqual([[NOT_FOUND], [NOT_FOUND]]);
  });

  it("gives up after the timeout, and ignores the handler settling later", async () => {
    const scope = createAuditScope({ operation: "/a.B/C" });
    noteHandlerStarted(scope);
    const { seen, add } = settlements();
    whenHandlerSettles(scope, 5, add);
    await expect.poll(() => seen.length).toBe(1);
    noteHandlerSettled(scope, NOT_FOUND);
    expect(seen).toStrictEqual(["timeout"]);
  });
});
