// Message shapes shared between the outputs of one run: each message's shape is printed once, in the output
// of the file declaring it, and imported where another output refers to it, so output grows linearly with a
// chain of files whose payloads reach each other (it grew with the square). Cases in testdata/shared/,
// golden output in golden/shared/ (`UPDATE_GOLDEN=1` rewrites it, as in golden.test.ts).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorSet, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactToJson } from "../../src/payload/redact-json.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { mergeRuleTables } from "../../src/rules/audit-rule-table.js";
import {
  buildModule,
  compilePlugin,
  errorOf,
  generate,
  generateAndCompile,
  listFiles,
  REPO,
  run,
  tempModule,
} from "./helpers.js";

const TESTDATA = join(REPO, "test/codegen/testdata");
const GOLDEN = join(REPO, "test/codegen/golden");
const update = process.env.UPDATE_GOLDEN === "1";
const SHARED = [
  "shared/admin/v1/admin.proto",
  "shared/billing/v1/billing.proto",
  "shared/common/v1/money.proto",
  "shared/common_v1/money.proto",
  "shared/orders/v1/orders.proto",
];
const dirs: string[] = [];

let image: FileDescriptorSet;
beforeAll(() => {
  const config = JSON.stringify({
    version: "v2",
    modules: [{ path: "proto" }, { path: "test/codegen/testdata" }],
  });
  const args = ["build", ".", "--config", config, "--path", "test/codegen/testdata/shared"];
  image = fromBinary(FileDescriptorSetSchema, run("buf", [...args, "-o", "-#format=binpb"]));
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The `/** Shape of <type>, …` lines of `outputs`: one per shape printed. */
function shapesPrinted(outputs: ReadonlyMap<string, string>): string[] {
  return [...outputs.values()].flatMap((text) =>
    text
      .split("\n")
      .filter((line) => line.startsWith("/** Shape of "))
      .map((line) => line.replace(/^\/\*\* Shape of (\S+), for payload capture\. \*\/$/, "$1")),
  );
}

/**
 * File `i` of a chain: `Link<i>` holds `Link<i-1>` from the file before, and one method captures
 * `Link<i>` both ways, so each file's payloads reach every file below it.
 */
function chainFiles(length: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < length; i++) {
    files[`chain/v${i}/link.proto`] = `syntax = "proto3";
package chain.v${i};
import "grpcaudit/v1/annotations.proto";
${i > 0 ? `import "chain/v${i - 1}/link.proto";` : ""}
message Link${i} { string id = 1; ${i > 0 ? `chain.v${i - 1}.Link${i - 1} below = 2;` : ""} }
service Chain${i}Service {
  rpc Put(Link${i}) returns (Link${i}) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "link" payload: PAYLOAD_CAPTURE_REDACTED };
  }
}
`;
  }
  return files;
}

/** Transpiles every output into `dir` (their imports of ts-proto are type-only) and imports `name`. */
async function loadOutputs(
  dir: string,
  outputs: ReadonlyMap<string, string>,
  name: string,
): Promise<Record<string, unknown>> {
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  for (const [file, content] of outputs) {
    const js = ts.transpileModule(content, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file.replace(/\.ts$/, ".js")), js);
  }
  return (await import(pathToFileURL(join(dir, name.replace(/\.ts$/, ".js"))).href)) as Record<
    string,
    unknown
  >;
}

describe("shapes shared between outputs", () => {
  it("matches the golden output", () => {
    const output = generate(image, SHARED);
    const golden = join(GOLDEN, "shared");
    if (update) {
      rmSync(golden, { recursive: true, force: true });
      for (const [file, content] of output) {
        mkdirSync(dirname(join(GOLDEN, file)), { recursive: true });
        writeFileSync(join(GOLDEN, file), content);
      }
    }
    expect([...output.keys()].sort()).toEqual(listFiles(golden).map((file) => join("shared", file)));
    for (const [file, content] of output) {
      expect(content, `${file} differs from its golden`).toBe(readFileSync(join(GOLDEN, file), "utf8"));
    }
  });

  it("prints each message's shape once in a chain of 24 files, in the output of the file declaring it", () => {
    const length = 24;
    const dir = tempModule(chainFiles(length));
    dirs.push(dir);
    const files = Object.keys(chainFiles(length));
    const output = generate(buildModule(dir), files);
    // One copy in each output that reaches it would make 24 * 25 / 2 = 300: quadratic in the chain.
    expect(shapesPrinted(output)).toEqual(files.map((_, i) => `chain.v${i}.Link${i}`));
    for (let i = 1; i < length; i++) {
      const text = output.get(`chain/v${i}/link_audit.ts`) ?? "";
      expect(text).toContain(
        `\nimport { shape_chain_v${i - 1}_Link${i - 1} } from "../v${i - 1}/link_audit.js";\n`,
      );
      // Exported only where another output imports it: the top of the chain keeps its own.
      expect(text).toContain(
        `\n${i < length - 1 ? "export " : ""}const shape_chain_v${i}_Link${i}: AuditMessageShape = `,
      );
    }
  });

  it("gives a file without rules an output holding the shapes of its messages that others capture", () => {
    const output = generate(image, SHARED);
    expect(shapesPrinted(output).sort()).toEqual([
      "shared.billing.v1.Invoice",
      "shared.common.v1.Address",
      "shared.common.v1.Money",
      "shared.common_v1.Money",
      "shared.orders.v1.Order",
    ]);
    const common = output.get("shared/common/v1/money_audit.ts") ?? "";
    expect(common).toContain("\nexport const auditRules = Object.freeze({});\n");
    expect(common).toContain("\nexport const authzRules = Object.freeze({});\n");
    expect(common).not.toContain("Unused");
    // No shape of its own, so no shape types either: unused, they would fail `noUnusedLocals`.
    expect(output.get("shared/admin/v1/admin_audit.ts")).not.toContain("type AuditMessageShape");
  });

  it("prints a message of a file outside the run in each output that refers to it", () => {
    const output = generate(image, ["shared/billing/v1/billing.proto", "shared/admin/v1/admin.proto"]);
    const printedIn = (file: string) => shapesPrinted(new Map([[file, output.get(file) ?? ""]]));
    expect([...output.keys()].sort()).toEqual([
      "shared/admin/v1/admin_audit.ts",
      "shared/billing/v1/billing_audit.ts",
    ]);
    const order = ["shared.orders.v1.Order", "shared.common.v1.Money", "shared.common.v1.Address"];
    expect(printedIn("shared/admin/v1/admin_audit.ts")).toEqual(order);
    expect(printedIn("shared/billing/v1/billing_audit.ts")).toEqual([
      "shared.billing.v1.Invoice",
      ...order,
      "shared.common_v1.Money",
    ]);
    expect(output.get("shared/billing/v1/billing_audit.ts")).not.toContain("_audit.js");
  });

  it("prints a recursive message of another file once, and captures through its lazy references", async () => {
    const dir = tempModule({
      "tree.proto": `syntax = "proto3";
package tree;
message Node { string id = 1; repeated Node children = 2; Leaf leaf = 3; }
message Leaf { Node parent = 1; string note = 2; }
`,
      "svc.proto": `syntax = "proto3";
package svc;
import "grpcaudit/v1/annotations.proto";
import "tree.proto";
service TreeService {
  rpc Put(tree.Node) returns (tree.Leaf) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "node" payload: PAYLOAD_CAPTURE_REDACTED };
  }
}
`,
    });
    dirs.push(dir);
    const output = generate(buildModule(dir), ["svc.proto", "tree.proto"]);
    expect(shapesPrinted(output)).toEqual(["tree.Node", "tree.Leaf"]);
    const svc = await loadOutputs(dir, output, "svc_audit.ts");
    const rule = mergeRuleTables(svc.auditRules as RuleTable).get("/svc.TreeService/Put");
    const shape = rule?.requestShape;
    if (shape === undefined) throw new Error("no requestShape");
    const node = { id: "a", children: [{ id: "b", leaf: { parent: { id: "c" }, note: "n" } }] };
    expect(redactToJson(shape, node)).toEqual(node);
  });

  it("still refuses a capture that reaches an unreadable type through other files, naming the path", () => {
    const dir = tempModule({
      "a.proto": `syntax = "proto3";
package a;
import "google/protobuf/struct.proto";
message A { google.protobuf.Struct extra = 1; }
`,
      "b.proto": 'syntax = "proto3";\npackage b;\nimport "a.proto";\nmessage B { a.A inner = 1; }\n',
      "c.proto": `syntax = "proto3";
package c;
import "grpcaudit/v1/annotations.proto";
import "b.proto";
service S {
  rpc Put(b.B) returns (b.B) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "b" payload: PAYLOAD_CAPTURE_DIGEST };
  }
}
`,
    });
    dirs.push(dir);
    const problem = (side: string) =>
      `c.proto: c.S.Put: (grpcaudit.v1.audit).payload: ${side}.inner.extra has type google.protobuf.Struct, which payload capture cannot read; mark the field sensitive to leave it out`;
    expect(errorOf(buildModule(dir), ["a.proto", "b.proto", "c.proto"])).toBe(
      `AuditRuleError: 2 problems in audit and authz rules:\n  ${problem("req")}\n  ${problem("resp")}`,
    );
  });

  it("compiles with ts-proto's output under the strict tsconfig, as grpc-audit RuleTables", async () => {
    const dir = tempModule(
      Object.fromEntries(SHARED.map((file) => [file, readFileSync(join(TESTDATA, file), "utf8")])),
    );
    dirs.push(dir);
    const tables = SHARED.map((file, i) => [
      `import { auditRules as t${i} } from "./${file.replace(/\.proto$/, "_audit.js")}";`,
      `export const table${i}: RuleTable = t${i};`,
    ]);
    const check = [
      `import type { RuleTable } from "${join(REPO, "src/rules/audit-rule.js")}";`,
      ...tables.flat(),
    ];
    mkdirSync(join(dir, "gen"), { recursive: true });
    writeFileSync(join(dir, "gen/check.ts"), `${check.join("\n")}\n`);
    expect(generateAndCompile(await compilePlugin(), dir, SHARED)).toEqual([]);
  }, 120_000); // tsc over the outputs and grpc-audit's rule types

  it("captures through shapes imported from other outputs", async () => {
    const dir = tempModule({});
    dirs.push(dir);
    const output = generate(image, SHARED);
    const billing = await loadOutputs(dir, output, "shared/billing/v1/billing_audit.ts");
    const rule = mergeRuleTables(billing.auditRules as RuleTable).get(
      "/shared.billing.v1.BillingService/Issue",
    );
    const shape = rule?.requestShape;
    if (shape === undefined) throw new Error("no requestShape");
    const invoice = {
      id: "i1",
      order: { id: "o1", total: { currency: "EUR", units: 7 }, shipTo: { city: "Lyon", street: "1 rue" } },
      due: { currency: "EUR", units: 7 },
      lines: { tea: { currency: "EUR", units: 3 } },
      legacyDue: { cents: 700 },
    };
    expect(redactToJson(shape, invoice)).toEqual({
      id: "i1",
      order: { id: "o1", total: { currency: "EUR", units: "7" }, shipTo: { city: "Lyon" } },
      due: { currency: "EUR", units: "7" },
      lines: { tea: { currency: "EUR", units: "3" } },
      legacyDue: { cents: "700" },
    });
    // One object per message type, whichever output refers to it.
    const orders = await loadOutputs(dir, output, "shared/orders/v1/orders_audit.ts");
    const order = shape.fields.find((field) => field.name === "order");
    expect(order?.kind === "message" && order.message()).toBe(orders.shape_shared_orders_v1_Order);
  });
});
