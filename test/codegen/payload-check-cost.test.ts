// The payload check walks the message types a rule captures. Over many methods sharing types it must
// walk each type about once per run, not once per method and side (3,000 methods over a chain of 3,000
// types took 16 s when each rule walked the chain again), and still name the same first path.
import { rmSync } from "node:fs";
import { createFileRegistry, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uncapturable } from "../../packages/protoc-gen-grpc-audit/src/message-shapes.js";
import { buildModule, tempModule } from "./helpers.js";

const LENGTH = 2000;

let dir = "";
let chain: DescMessage[] = [];
let holder: DescMessage | undefined;
beforeAll(() => {
  const messages = Array.from({ length: LENGTH }, (_, i) => `message M${i} { M${i + 1} next = 1; }`);
  dir = tempModule({
    "c.proto": `syntax = "proto3";
package c;
import "google/protobuf/struct.proto";
${messages.join("\n")}
message M${LENGTH} { string id = 1; }
message Holder { M0 chain = 1; google.protobuf.Struct extra = 2; }
`,
  });
  const registry = createFileRegistry(buildModule(dir));
  chain = Array.from({ length: LENGTH + 1 }, (_, i) => registry.getMessage(`c.M${i}`) as DescMessage);
  holder = registry.getMessage("c.Holder");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sensitivity test that counts the fields it is asked about: the work of the walks. */
function counting(sensitive: (field: DescField) => boolean = () => false) {
  const test = Object.assign(
    (field: DescField) => {
      test.calls++;
      return sensitive(field);
    },
    { calls: 0 },
  );
  return test;
}

describe("the payload check over many rules", () => {
  it("walks each type of a shared chain about once, not once per rule", () => {
    const isSensitive = counting();
    for (const root of chain) expect(uncapturable(root, "req", isSensitive)).toEqual([]);
    // One walk per rule would ask about LENGTH²/2 fields.
    expect(isSensitive.calls).toBeLessThan(4 * LENGTH);
  });

  it("keeps what it learns to one sensitivity test, since each run has its own", () => {
    const root = holder as DescMessage;
    const hidden = counting((field) => field.name === "extra");
    expect(uncapturable(root, "req", hidden)).toEqual([]);
    expect(uncapturable(root, "req", counting())).toEqual(["req.extra has type google.protobuf.Struct"]);
  });
});
