// The TypeScript samples of docs/ compile as a user's project would compile them: each ```ts block is
// written to a file of its own, after a few declarations of the names the page leaves to the reader
// (a logger, an authorizer, the handlers), and type-checked with this repository's tsconfig.json
// (strict, exactOptionalPropertyTypes), where `grpc-audit` and `grpc-audit/*` resolve to src/ as in
// examples/. `./gen/example/v1/projects*.js` are the demo's generated modules, from `grpc-audit/demo`.
// Only the excerpts of generated rule tables in rules.md are left out: they are not programs.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** The ```ts blocks of docs/, as "docs/<page>.md#<n>" (n counts the page's ts blocks from 0). */
function samples(): { name: string; code: string }[] {
  return readdirSync(join(REPO, "docs"))
    .filter((page) => page.endsWith(".md"))
    .sort()
    .flatMap((page) =>
      [...readFileSync(join(REPO, "docs", page), "utf8").matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map(
        ([, code = ""], n) => ({ name: `docs/${page}#${n}`, code }),
      ),
    );
}

/** Excerpts of generated `_audit.ts` files: object entries, not modules. */
const GENERATED_EXCERPTS = ["docs/rules.md#0", "docs/rules.md#1", "docs/rules.md#3", "docs/rules.md#4"];

/** What each sample leaves to the reader, declared before it (imports are hoisted either way). */
const CONTEXT: Record<string, string> = {
  "docs/authn-authz.md#0": [
    'import type { Logger } from "pino";',
    'import type { AsyncServiceImplementation, Authorizer } from "grpc-audit";',
    "declare const logger: Logger;",
    "declare const authorizer: Authorizer;",
    "declare const handlers: AsyncServiceImplementation<typeof ProjectServiceService>;",
  ].join("\n"),
  "docs/authn-authz.md#1": [
    'import { createJwtAuthenticator, type JwtAuthenticatorOptions, type Recorder } from "grpc-audit";',
    "declare const options: JwtAuthenticatorOptions;",
    "declare const recorder: Recorder;",
  ].join("\n"),
  "docs/authn-authz.md#2": "",
  "docs/authn-authz.md#3": [
    'import type { Recorder } from "grpc-audit";',
    "declare const apiUrl: string, storeId: string, authorizationModelId: string;",
    "declare const recorder: Recorder;",
  ].join("\n"),
  "docs/brokers.md#0": "",
  "docs/brokers.md#1": "declare const caPem: string;",
  "docs/delivery.md#0": [
    'import type { Logger } from "pino";',
    'import type { EventSink } from "grpc-audit";',
    "declare const logger: Logger;",
    "declare const sink: EventSink;",
  ].join("\n"),
  "docs/delivery.md#1": [
    'import type { Logger } from "pino";',
    'import { createDeliveryEmitter, type EventSink } from "grpc-audit";',
    "declare const logger: Logger;",
    "declare const sink: EventSink;",
  ].join("\n"),
  "docs/evidence.md#0": 'import { createRecorder } from "grpc-audit";',
  "docs/many-servers.md#0": 'import type { Logger } from "pino";\ndeclare const log: Logger;',
  "docs/many-servers.md#1": [
    'import { createIngester, type IngestStore } from "grpc-audit/ingest";',
    "declare const store: IngestStore;",
  ].join("\n"),
  "docs/opentelemetry.md#0": "",
  "docs/payload-capture.md#0": [
    'import { createAuditInterceptors, type Recorder } from "grpc-audit";',
    'import { auditRules } from "./gen/example/v1/projects_audit.js";',
    "declare const recorder: Recorder;",
    "declare const keyBytes: Uint8Array;",
  ].join("\n"),
  "docs/payload-capture.md#1": [
    'import type { AuditEvent, MessageShape } from "grpc-audit";',
    "declare const PutSecretRequestShape: MessageShape;",
    "declare const request: { name: string; value: string; email: string };",
    "declare const secret: Uint8Array;",
    "declare const event: AuditEvent;",
  ].join("\n"),
  "docs/postgres.md#0": "",
  "docs/recorder-and-events.md#0": "",
  "docs/recorder-and-events.md#1": 'import pino from "pino";\nimport { createRecorder } from "grpc-audit";',
  "docs/rules.md#2": [
    'import { Server } from "@grpc/grpc-js";',
    'import { type Authorizer, createAuditInterceptors, type Recorder } from "grpc-audit";',
    "declare const recorder: Recorder;",
    "declare const authorizer: Authorizer;",
  ].join("\n"),
  "docs/store-cli.md#0": "",
  "docs/testing.md#0": [
    'import type { Logger } from "pino";',
    'import type { Recorder } from "grpc-audit";',
    "declare const logger: Logger;",
    "interface TestServer { close(): Promise<void> }",
    "declare function startServer(recorder: Recorder): Promise<TestServer>;",
  ].join("\n"),
  "docs/testing.md#1": [
    'import type { Metadata } from "@grpc/grpc-js";',
    'import type { MemoryEmitter } from "grpc-audit/testing";',
    'import type { Project, ProjectServiceClient } from "./gen/example/v1/projects.js";',
    "declare const memory: MemoryEmitter, client: ProjectServiceClient, asAlice: Metadata;",
  ].join("\n"),
  "docs/testing.md#2": [
    'import type { Metadata } from "@grpc/grpc-js";',
    'import type { MemoryEmitter } from "grpc-audit/testing";',
    'import type { ProjectServiceClient } from "./gen/example/v1/projects.js";',
    "declare const memory: MemoryEmitter, client: ProjectServiceClient, asAlice: Metadata;",
  ].join("\n"),
  "docs/testing.md#3":
    'import type { MemoryEmitter } from "grpc-audit/testing";\ndeclare const memory: MemoryEmitter;',
};

mkdirSync(join(REPO, "temp"), { recursive: true });
// Inside the repository, so that tsconfig.json's `paths` and node_modules resolve from it.
const work = mkdtempSync(join(REPO, "temp", "docs-samples-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Type-checks the samples; returns the diagnostics of each sample file by sample name. */
function typeCheck(files: Map<string, string>): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(REPO, "tsconfig.json"),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
      },
    },
  );
  if (config === undefined) throw new Error("tsconfig.json could not be read");
  // A sample may declare what it does not use (`const next = …` to show a call).
  const options = { ...config.options, noUnusedLocals: false, noEmit: true };
  const program = ts.createProgram([...files.keys()], options);
  const found = new Map<string, string[]>([...files.values()].map((name) => [name, []]));
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file?.fileName;
    const name = file === undefined ? undefined : files.get(file);
    if (name === undefined || diagnostic.file === undefined) continue;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const text = diagnostic.file.text.split("\n")[line]?.trim();
    found.get(name)?.push(`${text}\n  ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n  ")}`);
  }
  return found;
}

describe("the TypeScript samples of docs/", () => {
  const all = samples();
  const checked = all.filter((sample) => !GENERATED_EXCERPTS.includes(sample.name));

  it("each have their context declared here, or are excerpts of generated tables", () => {
    expect(checked.map((sample) => sample.name).sort()).toEqual(Object.keys(CONTEXT).sort());
    expect(all.filter((sample) => GENERATED_EXCERPTS.includes(sample.name))).toHaveLength(
      GENERATED_EXCERPTS.length,
    );
  });

  it("type-check against the package with strict and exactOptionalPropertyTypes", () => {
    const gen = join(work, "gen/example/v1");
    mkdirSync(gen, { recursive: true });
    writeFileSync(join(gen, "projects.ts"), 'export * from "grpc-audit/demo";\n');
    writeFileSync(
      join(gen, "projects_audit.ts"),
      'export { auditRules, authzRules } from "grpc-audit/demo";\n',
    );
    const files = new Map<string, string>();
    checked.forEach(({ name, code }, n) => {
      const file = join(work, `sample-${n}.ts`);
      writeFileSync(file, `${CONTEXT[name] ?? ""}\n${code}\nexport {};\n`);
      files.set(file, name);
    });
    const problems = [...typeCheck(files)].filter(([, errors]) => errors.length > 0);
    expect(Object.fromEntries(problems)).toEqual({});
  }, 120_000); // one tsc program over src/: ~10 s idle, more on a loaded 2-core machine
});
