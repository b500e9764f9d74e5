// The free-form `attributes` map of events: set by handlers on the call (setAuditAttribute) and by
// record calls, merged (the record call wins), capped (16 entries, keys of 1 to 64 visible ASCII
// characters, values cut to 256 bytes), redacted, and never a reason to lose the event.
import { describe, expect, it } from "vitest";
import { runInAuditScope, setAuditAttribute } from "../../src/context/scope.js";
import { AuditInputError } from "../../src/errors/index.js";
import { eventToJson } from "../../src/event/serialize.js";
import type { ResourceMutationInput } from "../../src/recorder/inputs.js";
import { fixedRecorder, fixedScope } from "../helpers/recorder.js";

const MUTATION: ResourceMutationInput = { mutation: "create", resourceType: "project", resourceId: "p-1" };
const UNREADABLE = "input could not be read (a getter or Proxy trap threw)";

/** Records one mutation with `attributes` inside a call that set `callAttributes` first. */
function recordInCall(
  callAttributes: Record<string, string>,
  attributes: Record<string, unknown> | undefined,
  options: Parameters<typeof fixedRecorder>[0] = {},
) {
  const fixed = fixedRecorder(options);
  const outcome = runInAuditScope(fixedScope(), () => {
    for (const [key, value] of Object.entries(callAttributes))
      expect(setAuditAttribute(key, value)).toBe(true);
    const input = attributes === undefined ? MUTATION : { ...MUTATION, attributes };
    return (fixed.recorder.recordResourceMutation as (input: unknown) => string)(input);
  });
  return { ...fixed, outcome, event: fixed.memory.events[0] };
}

const entries = (n: number, prefix: string) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, `v${i}`]));

describe("event attributes", () => {
  it("merges the record call's attributes over the call's, the record call winning", () => {
    const { event, recorder, errors } = recordInCall(
      { tenant: "acme", reason: "from the handler" },
      { reason: "from the record call", ticket: "T-1" },
    );
    expect(event?.attributes).toStrictEqual({
      reason: "from the record call",
      ticket: "T-1",
      tenant: "acme",
    });
    expect(eventToJson(event ?? ({} as never)).attributes).toStrictEqual(event?.attributes);
    expect([recorder.stats().attributesDropped, errors]).toStrictEqual([0, []]);
  });

  it("gives every event of the call the attributes set before it, and none outside a call", () => {
    const { recorder, memory } = fixedRecorder();
    runInAuditScope(fixedScope(), () => {
      recorder.recordResourceMutation(MUTATION);
      setAuditAttribute("tenant", "acme");
      recorder.recordResourceMutation(MUTATION);
      setAuditAttribute("tenant", "globex"); // a later value replaces the earlier one
      recorder.recordResourceMutation(MUTATION);
    });
    expect(setAuditAttribute("tenant", "acme")).toBe(false); // outside a call: kept nowhere
    recorder.recordResourceMutation(MUTATION);
    expect(memory.events.map((e) => e.attributes)).toStrictEqual([
      {},
      { tenant: "acme" },
      { tenant: "globex" },
      {},
    ]);
  });

  it("keeps 16 entries, the record call's first, drops the rest and reports once", () => {
    const { event, recorder, errors, memory } = recordInCall(entries(16, "call"), entries(10, "own"));
    expect(Object.keys(event?.attributes ?? {})).toStrictEqual([
      ...Object.keys(entries(10, "own")),
      ...Object.keys(entries(6, "call")),
    ]);
    expect(recorder.stats().attributesDropped).toBe(10);
    runInAuditScope(fixedScope(), () =>
      recorder.recordResourceMutation({ ...MUTATION, attributes: entries(20, "k") }),
    );
    expect(Object.keys(memory.events[1]?.attributes ?? {})).toHaveLength(16);
    expect(recorder.stats().attributesDropped).toBe(14);
    expect(recorder.stats().accepted).toBe(2); // the events themselves are never lost
    expect(errors).toStrictEqual([
      new AuditInputError(
        "attributes: entries beyond 16 per event, with a key that is not 1 to 64 visible ASCII characters, or with a value that is not a string were left out (counted in stats().attributesDropped; reported once)",
      ),
    ]);
  });

  it("drops entries with a bad key or a value that is not a string, keeping the event", () => {
    const { event, outcome, recorder } = recordInCall(
      {},
      {
        "": "empty key",
        [`k${"x".repeat(64)}`]: "65-byte key",
        "with space": "v",
        "tab\tkey": "v",
        clé: "non-ASCII",
        number: 42,
        object: { toString: () => "x" },
        ["x".repeat(64)]: "64-byte key is fine",
        ["__proto__"]: "an entry, not a prototype", // computed: an own entry, not the prototype
      },
    );
    expect(outcome).toBe("accepted");
    const expected: Record<string, string> = { ["x".repeat(64)]: "64-byte key is fine" };
    Object.defineProperty(expected, "__proto__", { value: "an entry, not a prototype", enumerable: true });
    expect(event?.attributes).toStrictEqual(expected);
    expect(Object.getPrototypeOf(event?.attributes)).toBe(Object.prototype);
    expect(recorder.stats().attributesDropped).toBe(7);
  });

  it("redacts values with the Recorder's patterns before cutting them to 256 bytes", () => {
    const secretAtCut = `${"a".repeat(250)}password=hunter2`;
    const { event } = recordInCall(
      { note: "db password=hunter2 refused" },
      { big: "y".repeat(10_000_000), edge: secretAtCut },
      { redactPatterns: [/password=\S+/] },
    );
    expect(event?.attributes).toStrictEqual({
      big: `${"y".repeat(256)}…[truncated ${10_000_000 - 256} bytes]`,
      edge: `${"a".repeat(250)}[redac…[truncated 4 bytes]`,
      note: "db [redacted] refused",
    });
    expect(JSON.stringify(eventToJson(event ?? ({} as never)))).not.toContain("hunter2");
  });

  it.each([
    [
      "a getter that throws",
      {
        ...MUTATION,
        attributes: {
          get tenant(): string {
            throw new Error("secret-in-getter");
          },
        },
      },
      UNREADABLE,
    ],
    [
      "a Proxy whose ownKeys trap throws",
      {
        ...MUTATION,
        attributes: new Proxy(
          {},
          {
            ownKeys() {
              throw new Error("secret-in-trap");
            },
          },
        ),
      },
      UNREADABLE,
    ],
    [
      "a string",
      { ...MUTATION, attributes: "tenant=acme" },
      "attributes must be an object, got a string of length 11",
    ],
    ["an array", { ...MUTATION, attributes: [["k", "v"]] }, "attributes must be an object, got an array"],
    ["null", { ...MUTATION, attributes: null }, "attributes must be an object, got null"],
  ])("refuses attributes that are %s, and counts it", (_name, input, problem) => {
    const { recorder, memory, errors } = fixedRecorder();
    expect((recorder.recordResourceMutation as (input: unknown) => string)(input)).toBe("failed");
    expect(memory.events).toStrictEqual([]);
    expect(recorder.stats().invalid).toBe(1);
    expect(errors.map((e) => e.message)).toStrictEqual([`recordResourceMutation: ${problem}`]);
  });

  it("reads each value once and leaves the caller's object as it was", () => {
    let reads = 0;
    const attributes = {
      get tenant() {
        reads++;
        return reads === 1 ? "acme" : "changed";
      },
    };
    const { event } = recordInCall({}, attributes);
    expect([event?.attributes, reads]).toStrictEqual([{ tenant: "acme" }, 1]);
  });
});

describe("setAuditAttribute", () => {
  it("keeps nothing for a bad key, a value that is not a string, or a 17th key, and never throws", () => {
    runInAuditScope(fixedScope(), () => {
      const set = setAuditAttribute as (key: unknown, value: unknown) => boolean;
      expect([
        set("", "v"),
        set("a b", "v"),
        set("x".repeat(65), "v"),
        set(7, "v"),
        set("k", 7),
      ]).toStrictEqual([false, false, false, false, false]);
      for (let i = 0; i < 16; i++) expect(setAuditAttribute(`k${i}`, "v")).toBe(true);
      expect(setAuditAttribute("k16", "v")).toBe(false);
      expect(setAuditAttribute("k0", "replaced")).toBe(true); // a key it holds can still change
    });
  });
});
