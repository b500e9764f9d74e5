/** The one table of event kinds: every event type has one kind, one name and one index, both ways. */
import { describe, expect, it } from "vitest";
import {
  EVENT_KIND,
  EVENT_KINDS,
  eventKind,
  isEventKind,
  KIND_NAMES,
  kindIndex,
  kindIndexOfName,
} from "../../src/event/kinds.js";
import { EventType } from "../../src/gen/grpcaudit/v1/event.js";

describe("event kinds", () => {
  it("name every event type, unknown ones 'unspecified'", () => {
    expect(Object.values(EventType).map((type) => eventKind(type))).toStrictEqual([
      "unspecified",
      "authn.result",
      "authz.decision",
      "tuple.change",
      "resource.mutation",
      "resource.access",
      "chain.checkpoint",
      "record.summary",
      "unspecified",
    ]);
    expect(eventKind("EVENT_TYPE_FROM_A_NEWER_SCHEMA" as EventType)).toBe("unspecified");
  });

  it("index each name the same way from an event type and from its name", () => {
    expect(KIND_NAMES).toStrictEqual(["unspecified", ...Object.values(EVENT_KIND)]);
    for (const type of Object.values(EventType)) {
      const index = kindIndex(type);
      expect(KIND_NAMES[index]).toBe(eventKind(type));
      expect(kindIndexOfName(eventKind(type))).toBe(index);
    }
    expect(kindIndexOfName("authz.check")).toBe(0);
  });

  it("know the dotted names, and only those", () => {
    expect(EVENT_KINDS).toStrictEqual(Object.values(EVENT_KIND));
    expect(EVENT_KINDS.every(isEventKind)).toBe(true);
    expect(["unspecified", "authz.check", "", "default"].some(isEventKind)).toBe(false);
  });
});
