// The buf configuration the README and the quickstart recommend (examples/quickstart/buf.yaml and
// buf.gen.yaml, as they are) on a service whose protos import Google types (Timestamp, Empty): the
// generated code must compile. ts-proto with `emitImportedFiles=false` did not (TS2307: no
// google/protobuf/timestamp.js beside it).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { compilePlugin, listFiles, REPO, run } from "./helpers.js";

const NOTES = `syntax = "proto3";
package notes.v1;
import "google/protobuf/empty.proto";
import "google/protobuf/timestamp.proto";
import "grpcaudit/v1/annotations.proto";
message Note { string id = 1; google.protobuf.Timestamp created_at = 2; }
message CreateNoteRequest { string text = 1; }
service NoteService {
  rpc CreateNote(CreateNoteRequest) returns (Note) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_CREATE target_type: "note" target_id_field: "resp.id" };
  }
  rpc Touch(google.protobuf.Empty) returns (google.protobuf.Empty) {
    option (grpcaudit.v1.audit) = { mutation: MUTATION_TYPE_UPDATE target_type: "note" payload: PAYLOAD_CAPTURE_DIGEST };
  }
}
`;

const project = mkdtempSync(join(tmpdir(), "grpc-audit-recommended-"));

beforeAll(async () => {
  const plugin = await compilePlugin();
  // A user's project: the example's buf files, grpc-audit installed, both plugins on the PATH.
  for (const name of ["buf.yaml", "buf.gen.yaml"]) {
    cpSync(join(REPO, "examples/quickstart", name), join(project, name));
  }
  mkdirSync(join(project, "proto/notes/v1"), { recursive: true });
  writeFileSync(join(project, "proto/notes/v1/notes.proto"), NOTES);
  mkdirSync(join(project, "node_modules"));
  symlinkSync(REPO, join(project, "node_modules/grpc-audit"));
  for (const scope of ["@bufbuild", "@grpc", "@types"]) {
    symlinkSync(join(REPO, "node_modules", scope), join(project, "node_modules", scope));
  }
  mkdirSync(join(project, "bin"));
  symlinkSync(plugin, join(project, "bin/protoc-gen-grpc-audit"));
  const PATH = [join(project, "bin"), join(REPO, "node_modules/.bin"), process.env.PATH].join(delimiter);
  execFileSync(join(REPO, "node_modules/.bin/buf"), ["generate"], {
    cwd: project,
    env: { ...process.env, PATH },
    stdio: "pipe",
  });
}, 120_000);

afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

it("generates the imported Google types beside the service, and code that compiles", () => {
  expect(listFiles(join(project, "gen"))).toEqual([
    "google/protobuf/empty.ts",
    "google/protobuf/timestamp.ts",
    "notes/v1/notes.ts",
    "notes/v1/notes_audit.ts",
  ]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      extends: join(REPO, "tsconfig.json"),
      compilerOptions: { rootDir: project, noEmit: true },
      include: ["gen"],
      exclude: [],
    }),
  );
  expect(() => run("tsc", ["-p", join(project, "tsconfig.json")])).not.toThrow();
});
