// A thrown value that cannot even be inspected (a revoked Proxy, or one whose every trap throws) must
// not make a record call throw on the RPC path: toError, which the Recorder's catch blocks call, never
// throws, nor does reportError.
import { describe, expect, it } from "vitest";
import type { Emitter } from "../../src/emitters/emitter.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { createNoopEmitter } from "../../src/emitters/noop-emitter.js";
import { toError } from "../../src/errors/index.js";
import { createRecorder } from "../../src/recorder/recorder.js";

/** A Proxy whose handler's every trap throws, `getPrototypeOf` (what `instanceof` asks) among them. */
const trappedProxy = () =>
  new Proxy(
    {},
    new Proxy(
      {},
      {
        get: () => () => {
          throw new Error("trap");
        },
      },
    ),
  );
const revokedProxy = () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
};
const UNREADABLE = [
  ["a Proxy whose traps throw", trappedProxy],
  ["a revoked Proxy", revokedProxy],
] as const;
const mutation = { mutation: "create", resourceType: "project", resourceId: "p-1" } as const;

/** An emitter that breaks its promise never to throw, throwing `thrown()`. */
function throwingEmitter(thrown: () => unknown): Emitter {
  const emitter = createNoopEmitter();
  return {
    ...emitter,
    emit: () => {
      throw thrown();
    },
  };
}

describe.each(UNREADABLE)("%s thrown", (_label, thrown) => {
  it("toError gives an Error saying it cannot be read", () => {
    const error = toError(thrown());
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("an unreadable value was thrown");
  });

  it("by an emitter: the record call returns failed, counted and reported", () => {
    const errors: Error[] = [];
    const recorder = createRecorder({
      service: "s",
      emitters: [throwingEmitter(thrown)],
      onError: (error) => errors.push(error),
    });
    expect(recorder.recordResourceMutation(mutation)).toBe("failed");
    expect(recorder.stats().failed).toBe(1);
    expect(errors.map((error) => [error.message, (error.cause as Error).message])).toEqual([
      ["noop: emit threw", "an unreadable value was thrown"],
    ]);
  });

  it("by the Recorder's now(): the record call returns failed, counted", () => {
    const recorder = createRecorder({
      service: "s",
      emitters: [createMemoryEmitter()],
      now: () => {
        throw thrown();
      },
    });
    expect(recorder.recordResourceMutation(mutation)).toBe("failed");
    expect(recorder.stats().failed).toBe(1);
  });

  it("given to reportError: reported as an Error, not thrown", () => {
    const errors: Error[] = [];
    const recorder = createRecorder({
      service: "s",
      emitters: [createNoopEmitter()],
      onError: (error) => errors.push(error),
    });
    recorder.reportError(thrown() as Error);
    expect(errors.map((error) => error.message)).toEqual(["an unreadable value was thrown"]);
    expect(recorder.stats().errors).toBe(1);
  });
});
