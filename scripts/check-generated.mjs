// Fails when the committed generated code differs from what `buf generate` makes of proto/ now: a proto
// change without `npm run generate` must not pass CI. Each template (buf.gen.yaml: the event schema into
// src/gen; buf.gen.example.yaml: the example service beside the demo; buf.gen.test.yaml: the payload
// fixture into test/fixtures/gen, with the fixture workspace buf.test.yaml) generates into a temporary folder
// that is compared with the committed one, leaving the working tree untouched. buf runs
// protoc-gen-grpc-audit from packages/protoc-gen-grpc-audit/dist, so the plugin is compiled first: a
// stale build would hide a plugin change.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

/** Each buf template, the folder it writes, and the workspace config it needs (buf.yaml when none). */
const TEMPLATES = [
  { template: "buf.gen.yaml", dir: "src/gen", config: [] },
  { template: "buf.gen.example.yaml", dir: "src/cli/demo/gen", config: [] },
  { template: "buf.gen.test.yaml", dir: "test/fixtures/gen", config: ["--config", "buf.test.yaml"] },
];

execFileSync("npm", ["run", "--silent", "build:codegen"], { stdio: "inherit" });
let stale = false;
for (const { template, dir, config } of TEMPLATES) {
  const out = mkdtempSync(join(tmpdir(), "grpc-audit-gen-"));
  try {
    execFileSync("npx", ["buf", "generate", ...config, "--template", template, "--output", out], {
      stdio: "inherit",
    });
    const fresh = listFiles(join(out, dir));
    const committed = listFiles(dir);
    const differing = [...new Set([...fresh.keys(), ...committed.keys()])].filter(
      (file) => fresh.get(file) !== committed.get(file),
    );
    if (differing.length > 0) {
      stale = true;
      console.error(
        `${dir} is stale; run \`npm run generate\` and commit. Differing files:\n  ${differing.join("\n  ")}`,
      );
    } else {
      console.log(`${dir} is up to date (${committed.size} files)`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
if (stale) process.exit(1);

function listFiles(root) {
  const files = new Map();
  if (!existsSync(root)) return files;
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(root, path), readFileSync(path, "utf8"));
  }
  return files;
}
