// Fails when src/gen differs from what `buf generate` makes of proto/ now: generated code is committed,
// so a proto change without `npm run generate` must not pass CI. Generates into a temporary folder and
// compares, leaving the working tree untouched. buf runs protoc-gen-grpc-audit from dist/codegen, so the
// plugin is compiled first: a stale build would hide a plugin change.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const out = mkdtempSync(join(tmpdir(), "grpc-audit-gen-"));
try {
  execFileSync("npm", ["run", "--silent", "build:codegen"], { stdio: "inherit" });
  execFileSync("npx", ["buf", "generate", "--output", out], { stdio: "inherit" });
  const fresh = listFiles(join(out, "src/gen"));
  const committed = listFiles("src/gen");
  const differing = [...new Set([...fresh.keys(), ...committed.keys()])].filter(
    (file) => fresh.get(file) !== committed.get(file),
  );
  if (differing.length > 0) {
    console.error(
      `src/gen is stale; run \`npm run generate\` and commit. Differing files:\n  ${differing.join("\n  ")}`,
    );
    process.exit(1);
  }
  console.log(`src/gen is up to date (${committed.size} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

function listFiles(root) {
  const files = new Map();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(root, path), readFileSync(path, "utf8"));
  }
  return files;
}
