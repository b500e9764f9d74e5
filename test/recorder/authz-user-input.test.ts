// `user` of recordAuthzDecision (the OpenFGA user the authz layer checked): checked and copied like
// the other ids of the input, and cut to the event's text limit like a refused object id.
import { describe, expect, it } from "vitest";
import { AuditInputError } from "../../src/errors/index.js";
import { fixedRecorder } from "../helpers/recorder.js";

const CHECK = { relation: "editor", objectType: "project", objectId: "p-1", decision: "denied" } as const;

describe("recordAuthzDecision user", () => {
  it("records the user read once from the input, and none when it is not given", async () => {
    const { recorder, memory } = fixedRecorder();
    let reads = 0;
    const input = {
      ...CHECK,
      get user() {
        reads += 1;
        return reads === 1 ? "service:billing" : "user:someone-else";
      },
    };
    expect(await recorder.recordAuthzDecision(input)).toBe("accepted");
    expect(await recorder.recordAuthzDecision(CHECK)).toBe("accepted");
    expect(reads).toBe(1);
    expect(
      memory.events.map((event) => event.detail?.$case === "authz" && event.detail.value.user),
    ).toStrictEqual(["service:billing", ""]);
  });

  it("refuses a user that is not a string, naming the field", async () => {
    const { recorder, memory, errors } = fixedRecorder();
    expect(await recorder.recordAuthzDecision({ ...CHECK, user: 42 as unknown as string })).toBe("failed");
    expect(memory.events).toStrictEqual([]);
    expect(errors.map((error) => [error.constructor, error.message])).toStrictEqual([
      [AuditInputError, "recordAuthzDecision: user must be a string, got number"],
    ]);
  });

  it("cuts a long (refused) user to 256 bytes with the marker, as it cuts an object id", async () => {
    const { recorder, memory } = fixedRecorder();
    const long = `user:${"x".repeat(2000)}`;
    await recorder.recordAuthzDecision({
      ...CHECK,
      objectId: long,
      errorReason: "subject_id_invalid",
      user: long,
    });
    const [event] = memory.events;
    if (event?.detail?.$case !== "authz") throw new Error("no authz event");
    const cut = `user:${"x".repeat(251)}…[truncated 1749 bytes]`;
    expect([event.detail.value.user, event.detail.value.objectId]).toStrictEqual([cut, cut]);
  });
});
