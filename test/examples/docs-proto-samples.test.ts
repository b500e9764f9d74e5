// The .proto samples of docs/ generate as they are shown: each ```proto block of docs/ goes into a
// file of its own (a lone `rpc` inside a service of its own), next to stand-in messages for the types
// it names but does not declare, is built with buf and given to protoc-gen-grpc-audit in process. A
// sample a user copies into their service must not fail the build for a reason the page does not show.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildModule, errorOf, REPO, tempModule } from "../codegen/helpers.js";

/** Stand-ins for the messages the samples name, with the fields their id paths read. */
const MESSAGES: Record<string, string> = {
  Project: "string id = 1; string name = 2;",
  CreateProjectRequest: "string name = 1;",
  GetProjectRequest: "string id = 1;",
  UpdateProjectRequest: "Project project = 1;",
  ListMembersRequest: "string project_id = 1;",
  Member: "string member_id = 1;",
  AddMemberRequest: "string project_id = 1; string user = 2;",
  ImportMembersResponse: "int32 added = 1;",
  MemberChange: "Member member = 1;",
  MemberChangeResult: "bool ok = 1;",
  BookRef: "string id = 1;",
  Book: "string id = 1; string title = 2;",
  ReadSecretRequest: "string id = 1;",
  PutSecretRequest: "string name = 1;",
  Secret: "string name = 1;",
};

/** The ```proto blocks of docs/, as "docs/<page>.md#<n>". */
function samples(): { name: string; code: string }[] {
  return readdirSync(join(REPO, "docs"))
    .filter((page) => page.endsWith(".md"))
    .sort()
    .flatMap((page) =>
      [...readFileSync(join(REPO, "docs", page), "utf8").matchAll(/^```proto\n([\s\S]*?)^```$/gm)].map(
        ([, code = ""], n) => ({ name: `docs/${page}#${n}`, code }),
      ),
    );
}

/** A whole .proto file around `code`: package, the annotations, stand-ins for the messages it only names. */
function protoFile(n: number, code: string): string {
  const body = code.replace(/^import "grpcaudit\/v1\/annotations.proto";\n/m, "");
  const declared = new Set([...body.matchAll(/^message (\w+)/gm)].map(([, name]) => name));
  const named = new Set([...body.matchAll(/\(\s*(?:stream\s+)?(\w+)\s*\)/g)].map(([, name]) => name));
  const needed = new Set<string>();
  const need = (name: string | undefined): void => {
    if (name === undefined || declared.has(name) || needed.has(name)) return;
    needed.add(name);
    for (const [, type] of (MESSAGES[name] ?? "").matchAll(/(?:^|; )(\w+) \w+ =/g))
      if (type !== undefined && type in MESSAGES) need(type);
  };
  for (const name of named) need(name);
  const stubs = [...needed].map((name) => {
    const fields = MESSAGES[name];
    if (fields === undefined) throw new Error(`no stand-in for message ${name}`);
    return `message ${name} { ${fields} }`;
  });
  // A lone rpc (and the messages after it) gets a service of its own around the rpc.
  const messagesAt = body.search(/^message /m);
  const [rpcs, messages] =
    messagesAt === -1 ? [body, ""] : [body.slice(0, messagesAt), body.slice(messagesAt)];
  const wrapped =
    /^rpc /m.test(rpcs) && !/^service /m.test(rpcs) ? `service SampleService {\n${rpcs}}\n` : rpcs;
  return [
    'syntax = "proto3";',
    `package docs.sample${n};`,
    'import "grpcaudit/v1/annotations.proto";',
    wrapped,
    messages,
    ...stubs,
    "",
  ].join("\n");
}

const all = samples();
const files = Object.fromEntries(all.map(({ code }, n) => [`docs/sample${n}.proto`, protoFile(n, code)]));
const dir = tempModule(files);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the .proto samples of docs/", () => {
  it("include the rules, payload and status message samples", () => {
    expect(all.map((sample) => sample.name)).toEqual(
      expect.arrayContaining([
        "docs/payload-capture.md#0",
        "docs/rules.md#0",
        "docs/rules.md#2",
        "docs/rules.md#4",
      ]),
    );
  });

  it("each generate rule tables without a build error", () => {
    const image = buildModule(dir);
    const errors = Object.fromEntries(
      all
        .map(({ name }, n) => [name, errorOf(image, [`docs/sample${n}.proto`])] as const)
        .filter(([, error]) => error !== ""),
    );
    expect(errors).toEqual({});
  }, 60_000);
});
