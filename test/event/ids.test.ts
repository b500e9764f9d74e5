import { describe, expect, it } from "vitest";
import { newEventId } from "../../src/event/ids.js";

describe("newEventId", () => {
  it("gives 100k unique UUIDv7 ids that sort in creation order", () => {
    const ids = Array.from({ length: 100_000 }, () => newEventId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toStrictEqual(ids);
    for (const id of [ids[0], ids[99_999]]) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });

  it("encodes the creation time in the first 48 bits", () => {
    const before = Date.now();
    const id = newEventId();
    const after = Date.now();
    const ms = Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });
});
