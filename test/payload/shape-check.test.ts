/**
 * Hand-written message shapes are checked when the interceptors are created: a JavaScript rule table
 * or a cast is not held to MessageShape by the compiler, and a malformed shape captured a digest of
 * nothing, `{}`, or (with `sensitive` misspelt) a password in clear, without a word.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { auditRules as demoRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createMemoryEmitter } from "../../src/emitters/memory-emitter.js";
import { eventToJson } from "../../src/event/serialize.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import type { RuleTable } from "../../src/rules/audit-rule.js";
import { auditRules as staleRules } from "../fixtures/stale-rules/payload_audit.v1.js";
import { LOGIN, LoginResponseShape, loginRule, startLogin, stringField } from "./login-service.js";
import { REPO } from "./messages.js";
import { VAULT_RULES } from "./shapes.js";

const recorder = createRecorder({ service: "login", emitters: [createMemoryEmitter()] });
afterAll(() => recorder.close());

const AT = `rule ${LOGIN}: request shape login.v1.LoginRequest`;
const KNOWN =
  "no, name, jsonName, properties, sensitive, kind, scalar, repeated, optional, oneof, default, packed, delimited";
const SCALARS =
  "double, float, int64, uint64, int32, fixed64, fixed32, bool, string, bytes, uint32, sfixed32, sfixed64, sint32, sint64";
const MAP_KEYS =
  "int64, uint64, int32, fixed64, fixed32, bool, string, uint32, sfixed32, sfixed64, sint32, sint64";
const WELL_KNOWN =
  "google.protobuf.Timestamp, google.protobuf.Duration, google.protobuf.DoubleValue, google.protobuf.FloatValue, " +
  "google.protobuf.Int64Value, google.protobuf.UInt64Value, google.protobuf.Int32Value, google.protobuf.UInt32Value, " +
  "google.protobuf.BoolValue, google.protobuf.StringValue, google.protobuf.BytesValue, google.protobuf.Empty";

/** message LoginRequest { string user = 1; <field> } */
function requestWith(field: unknown) {
  return { typeName: "login.v1.LoginRequest", fields: [stringField(1, "user"), field] };
}

/** A field of type `typeName` holding `fields`, under `kind: "message"`. */
function messageField(no: number, name: string, typeName: string, fields: unknown[]) {
  const shape = { typeName, fields };
  return stringField(no, name, { kind: "message", scalar: undefined, message: () => shape });
}

/** What creating the interceptors throws, as "Name: message"; "created" when it throws nothing. */
function creating(rules: unknown): string {
  try {
    createAuditInterceptors({ recorder, rules: rules as RuleTable });
    return "created";
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
}

const password = stringField(2, "password", { sensitive: true });
const { sensitive: _, ...unmarked } = password;
const { no: __, ...unnumbered } = stringField(2, "note");
const { repeated: ___, ...noCardinality } = stringField(2, "note");
const mapBase = {
  no: 3,
  name: "labels",
  jsonName: "labels",
  properties: ["labels"],
  sensitive: false,
  kind: "map",
  key: "string",
  value: { kind: "scalar", scalar: "string" },
};

const MALFORMED: [string, unknown, string][] = [
  [
    "a misspelt key",
    { ...unmarked, senstive: true },
    `${AT} field "password": unknown option \`senstive\` (did you mean \`sensitive\`?)`,
  ],
  [
    "the field number under another name",
    { ...unnumbered, number: 2 },
    `${AT} field "note": unknown option \`number\`; known options: ${KNOWN}`,
  ],
  [
    "an unknown kind",
    stringField(2, "note", { kind: "string", scalar: undefined }),
    `${AT} field "note": kind must be one of scalar, enum, message, wellKnown, map, got "string"`,
  ],
  [
    "an unknown scalar type",
    stringField(2, "note", { scalar: "text" }),
    `${AT} field "note": scalar must be one of ${SCALARS}, got "text"`,
  ],
  [
    "field number 0",
    stringField(0, "note"),
    `${AT} field "note": no must be a field number, an integer from 1 to 536870911, got 0`,
  ],
  [
    "a field number above protobuf's",
    stringField(2 ** 29, "note"),
    `${AT} field "note": no must be a field number, an integer from 1 to 536870911, got 536870912`,
  ],
  [
    "a fractional field number",
    stringField(1.5, "note"),
    `${AT} field "note": no must be a field number, an integer from 1 to 536870911, got 1.5`,
  ],
  [
    "sensitive as a string",
    { ...password, sensitive: "true" },
    `${AT} field "password": sensitive must be a boolean, got "true"`,
  ],
  ["no cardinality", noCardinality, `${AT} field "note": repeated must be a boolean, got undefined`],
  [
    "a oneof that is not a name",
    stringField(2, "note", { oneof: 3 }),
    `${AT} field "note": oneof must be a non-empty string or undefined, got 3`,
  ],
  ["no name", stringField(2, "", {}), `${AT} field [1]: name must be a non-empty string, got ""`],
  [
    "no property names",
    stringField(2, "note", { properties: [] }),
    `${AT} field "note": properties must be a non-empty array of non-empty strings, got an array`,
  ],
  ["a field that is not an object", null, `${AT} field [1] must be a field object, got null`],
  [
    "enum values that are not numbers",
    stringField(2, "role", { kind: "enum", scalar: undefined, values: { ADMIN: "1" } }),
    `${AT} field "role": values must be an object of enum value numbers (int32) by name, got an object`,
  ],
  [
    "a well-known type capture cannot read",
    stringField(2, "extra", { kind: "wellKnown", scalar: undefined, type: "google.protobuf.Any" }),
    `${AT} field "extra": type must be one of ${WELL_KNOWN}, got "google.protobuf.Any"`,
  ],
  [
    "a misspelt key in a nested message",
    messageField(2, "owner", "login.v1.Owner", [{ ...stringField(1, "email"), sensitve: true }]),
    `${AT} at owner (login.v1.Owner) field "email": unknown option \`sensitve\` (did you mean \`sensitive\`?)`,
  ],
  [
    "an unknown kind two messages down, in a repeated field",
    messageField(2, "owner", "login.v1.Owner", [
      {
        ...messageField(1, "keys", "login.v1.Key", [stringField(1, "id", { kind: "text" })]),
        repeated: true,
      },
    ]),
    `${AT} at owner.keys (login.v1.Key) field "id": kind must be one of scalar, enum, message, wellKnown, map, got "text"`,
  ],
  [
    "a map key type protobuf has not",
    { ...mapBase, key: "double" },
    `${AT} field "labels": key must be one of ${MAP_KEYS}, got "double"`,
  ],
  [
    "a misspelt key in a map value",
    { ...mapBase, value: { kind: "scalar", scalr: "string" } },
    `${AT} field "labels" value: unknown option \`scalr\` (did you mean \`scalar\`?)`,
  ],
  [
    "a cardinality key on a map",
    { ...mapBase, repeated: false },
    `${AT} field "labels": unknown option \`repeated\`; known options: no, name, jsonName, properties, sensitive, kind, key, value`,
  ],
  [
    "a malformed message in a map value",
    { ...mapBase, value: { kind: "message", message: () => bad } },
    `${AT} at labels[] (login.v1.Label) field "text": scalar must be one of ${SCALARS}, got undefined`,
  ],
  [
    "a message() that throws",
    stringField(2, "owner", {
      kind: "message",
      scalar: undefined,
      message: () => {
        throw new Error("not built yet");
      },
    }),
    `${AT} field "owner": message() threw`,
  ],
  [
    "a message that is not a function",
    stringField(2, "owner", { kind: "message", scalar: undefined, message: { typeName: "x", fields: [] } }),
    `${AT} field "owner": message must be a function returning a MessageShape, got an object`,
  ],
];
const bad = { typeName: "login.v1.Label", fields: [stringField(1, "text", { scalar: undefined })] };

describe("a capturing rule's message shapes", () => {
  it.each(MALFORMED)(
    "are refused at creation with %s, naming rule, shape path and field",
    (_, field, message) => {
      expect(creating(loginRule("redacted", requestWith(field)))).toBe(`AuditConfigError: ${message}`);
    },
  );

  it("are refused with an unknown or missing key of their own, or when they are not objects", () => {
    const { fields } = requestWith(password);
    expect(creating(loginRule("redacted", { typeName: "login.v1.LoginRequest", feilds: fields }))).toBe(
      `AuditConfigError: ${AT}: unknown option \`feilds\` (did you mean \`fields\`?)`,
    );
    expect(creating(loginRule("digest", { typeName: "", fields }))).toBe(
      `AuditConfigError: rule ${LOGIN}: request shape: typeName must be a non-empty string, got ""`,
    );
    expect(creating(loginRule("redacted", "login.v1.LoginRequest"))).toBe(
      `AuditConfigError: rule ${LOGIN}: request shape must be a MessageShape (an object with typeName and fields), got "login.v1.LoginRequest"`,
    );
    const rule = loginRule("redacted", requestWith(password))[LOGIN];
    const response = { ...LoginResponseShape, fields: [{ ...stringField(1, "ok"), scalar: "boolean" }] };
    expect(creating({ [LOGIN]: { ...rule, responseShape: response } })).toBe(
      `AuditConfigError: rule ${LOGIN}: response shape login.v1.LoginResponse field "ok": scalar must be one of ${SCALARS}, got "boolean"`,
    );
  });

  it("are checked once each, shared and recursive, and a message() that makes a new shape each call is refused", () => {
    let reads = 0;
    const children = { kind: "message", message: () => node, repeated: true };
    const nodeFields = [
      stringField(1, "name"),
      stringField(2, "children", { ...children, scalar: undefined }),
    ];
    const node = {
      typeName: "login.v1.Node",
      get fields() {
        reads++;
        return nodeFields;
      },
    };
    const refresh = "/login.v1.Auth/Refresh";
    const rules = {
      ...loginRule("redacted", node),
      [refresh]: { ...loginRule("redacted", node)[LOGIN], method: refresh, responseShape: node },
    };
    expect(creating(rules)).toBe("created");
    expect(reads).toBe(1);

    const fresh = (): unknown => ({
      typeName: "login.v1.Node",
      fields: [stringField(1, "next", { kind: "message", scalar: undefined, message: fresh })],
    });
    expect(creating(loginRule("redacted", fresh()))).toBe(
      `AuditConfigError: rule ${LOGIN}: request shape login.v1.Node field "next": message() must return the same MessageShape object each time`,
    );
  });

  it("with `sensitive` misspelt are refused before any call; spelt right, the password stays out over gRPC", async () => {
    const canary = "hunter2-CANARY-f61";
    expect(creating(loginRule("redacted", requestWith({ ...unmarked, senstive: true })))).toBe(
      `AuditConfigError: ${AT} field "password": unknown option \`senstive\` (did you mean \`sensitive\`?)`,
    );
    const memory = createMemoryEmitter();
    const errors: Error[] = [];
    const audited = createRecorder({ service: "login", emitters: [memory], onError: (e) => errors.push(e) });
    const rules = loginRule("redacted", requestWith(password)) as unknown as RuleTable;
    const service = await startLogin(createAuditInterceptors({ recorder: audited, rules }));
    try {
      expect(await service.login({ user: "alice", password: canary })).toBe(0);
      const [event] = await memory.waitForCount(1);
      expect(event?.payload).toMatchObject({ requestJson: '{"user":"alice"}', responseJson: '{"ok":true}' });
      expect(JSON.stringify(eventToJson(event as NonNullable<typeof event>))).not.toContain(canary);
      expect(errors).toStrictEqual([]);
    } finally {
      await service.close();
      await audited.close();
    }
  });

  it("pass as the plugin generates them: every golden table, the payload fixture's, the stale fixture's, the demo's", async () => {
    const golden = join(REPO, "test/codegen/golden");
    const dir = mkdtempSync(join(tmpdir(), "grpc-audit-golden-shapes-"));
    try {
      // Goldens import other goldens' shapes by relative .js paths: each is transpiled in place.
      const files = readdirSync(golden, { recursive: true, encoding: "utf8" }).filter((f) =>
        f.endsWith("_audit.ts"),
      );
      for (const file of files) {
        const js = ts.transpileModule(readFileSync(join(golden, file), "utf8"), {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText;
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file.replace(/\.ts$/, ".js")), js);
      }
      const tables: unknown[] = [VAULT_RULES, staleRules, demoRules];
      for (const file of files) {
        const url = pathToFileURL(join(dir, file.replace(/\.ts$/, ".js"))).href;
        tables.push(((await import(url)) as { auditRules: unknown }).auditRules);
      }
      expect(files.length).toBeGreaterThan(10);
      const key = { id: "k", secret: Buffer.alloc(32, 1) };
      for (const rules of tables) {
        expect(() =>
          createAuditInterceptors({ recorder, rules: rules as RuleTable, payloadDigestKey: key }),
        ).not.toThrow();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
