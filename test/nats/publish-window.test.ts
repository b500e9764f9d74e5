import { describe, expect, it } from "vitest";
import { PublishWindow } from "../../src/nats/publish-window.js";

/** True once `promise` has settled, after a few turns of the event loop. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe("PublishWindow", () => {
  it("gives out `size` slots, then makes the sender wait for a release", async () => {
    const window = new PublishWindow(2);

    expect([window.tryAcquire(), window.tryAcquire(), window.tryAcquire()]).toStrictEqual([
      true,
      true,
      false,
    ]);
    const waiting = window.acquire();
    expect(await isSettled(waiting)).toBe(false);
    window.release();
    expect(await isSettled(waiting)).toBe(true);
    expect(window.tryAcquire()).toBe(false);
    window.release();
    window.release();
    expect([window.tryAcquire(), window.tryAcquire(), window.tryAcquire()]).toStrictEqual([
      true,
      true,
      false,
    ]);
  });

  it("rejects a wait with the abort reason and takes no slot", async () => {
    const window = new PublishWindow(1);
    window.tryAcquire();
    const controller = new AbortController();
    const waiting = window.acquire(controller.signal);
    controller.abort(new Error("closed"));

    await expect(waiting).rejects.toThrow("closed");
    window.release();
    expect([window.tryAcquire(), window.tryAcquire()]).toStrictEqual([true, false]);
  });

  it("lets calls send one after the other, in the order they took their turn, even when one ends early", async () => {
    const window = new PublishWindow(1);
    const first = window.takeTurn();
    const second = window.takeTurn();
    const third = window.takeTurn();

    expect(await isSettled(first.ready)).toBe(true);
    second.done(); // gives up before its turn (aborted)
    expect(await isSettled(second.ready)).toBe(false);
    expect(await isSettled(third.ready)).toBe(false);
    first.done();
    expect(await isSettled(third.ready)).toBe(true);
  });
});
