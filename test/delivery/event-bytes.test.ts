import { describe, expect, it } from "vitest";
import { LazyEncodedEvent } from "../../src/delivery/event-bytes.js";
import { decodeEvent, encodeEvent } from "../../src/event/serialize.js";
import { sampleEvent } from "../helpers/events.js";

describe("LazyEncodedEvent", () => {
  it("decodes its bytes on first access to event, once", () => {
    const event = sampleEvent();
    const lazy = new LazyEncodedEvent(encodeEvent(event));

    expect(lazy.event).toStrictEqual(decodeEvent(encodeEvent(event)));
    expect(lazy.event).toBe(lazy.event);
  });

  it("keeps an event given with the bytes", () => {
    const event = sampleEvent();
    expect(new LazyEncodedEvent(encodeEvent(event), event).event).toBe(event);
  });
});
