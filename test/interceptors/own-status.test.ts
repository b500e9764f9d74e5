// The status grpc-js sends itself, past the interceptors, as the audit scope notes it for the call's
// records. grpc-js may call its sendStatus again on a call it already ended (its deadline timer ended
// the call while a large write was under way; the write then fails, and grpc-js "sends" INTERNAL, which
// goes nowhere): the records must name the status the client got, the first.
import { Metadata, status } from "@grpc/grpc-js";
import { expect, it } from "vitest";
import { createAuditScope } from "../../src/context/scope.js";
import { cancelledCallStatus, noteOwnStatus, ownStatusOf } from "../../src/interceptors/own-status.js";

const scope = () => createAuditScope({ operation: "/x/Y", metadata: new Metadata() });

it("keeps the first status grpc-js sent for a call, not a later one on the ended call", () => {
  const call = scope();
  noteOwnStatus(
    call,
    { code: status.DEADLINE_EXCEEDED, details: "Deadline exceeded", metadata: null },
    "grpc-js",
  );
  noteOwnStatus(call, { code: status.INTERNAL, details: "Internal server error", metadata: null }, "grpc-js");
  expect(ownStatusOf(call)).toStrictEqual({
    code: status.DEADLINE_EXCEEDED,
    details: "Deadline exceeded",
    by: "grpc-js",
  });
  expect(cancelledCallStatus(call, Number.POSITIVE_INFINITY)).toStrictEqual({
    code: status.DEADLINE_EXCEEDED,
    details: "Deadline exceeded",
  });
});

it("without a status of grpc-js's own, a cancelled call ended as its deadline says", () => {
  const call = scope();
  expect(ownStatusOf(call)).toBeUndefined();
  expect(cancelledCallStatus(call, Date.now() - 1).code).toBe(status.DEADLINE_EXCEEDED);
  expect(cancelledCallStatus(call, Number.POSITIVE_INFINITY).code).toBe(status.CANCELLED);
});
