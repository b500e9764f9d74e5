// Generates the code of examples/quickstart the way a user's project does: `buf generate` with the
// example's own buf.yaml and buf.gen.yaml, grpc-audit's protos under node_modules/grpc-audit/proto and
// both plugins on the PATH. Runs in a temporary copy (node_modules/grpc-audit links to this repository,
// protoc-gen-grpc-audit to the compiled plugin), so nothing but gen/ is touched.
// `node scripts/generate-examples.mjs` rewrites examples/quickstart/gen; with `--check` it fails when the
// committed gen/ differs (run by `npm run check:generated`).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, relative, resolve } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const example = join(repo, "examples/quickstart");
const check = process.argv.includes("--check");

execFileSync("npm", ["run", "--silent", "build:codegen"], { cwd: repo, stdio: "inherit" });
const tmp = mkdtempSync(join(tmpdir(), "grpc-audit-example-"));
try {
  for (const name of ["proto", "buf.yaml", "buf.gen.yaml"]) {
    cpSync(join(example, name), join(tmp, name), { recursive: true });
  }
  mkdirSync(join(tmp, "node_modules"));
  symlinkSync(repo, join(tmp, "node_modules/grpc-audit"));
  mkdirSync(join(tmp, "bin"));
  symlinkSync(
    join(repo, "packages/protoc-gen-grpc-audit/dist/bin/protoc-gen-grpc-audit.js"),
    join(tmp, "bin/protoc-gen-grpc-audit"),
  );
  const path = [join(tmp, "bin"), join(repo, "node_modules/.bin"), process.env.PATH].join(delimiter);
  execFileSync(join(repo, "node_modules/.bin/buf"), ["generate"], {
    cwd: tmp,
    env: { ...process.env, PATH: path },
    stdio: "inherit",
  });
  const fresh = listFiles(join(tmp, "gen"));
  if (!check) {
    rmSync(join(example, "gen"), { recursive: true, force: true });
    cpSync(join(tmp, "gen"), join(example, "gen"), { recursive: true });
    console.log(`examples/quickstart/gen written (${fresh.size} files)`);
  } else {
    const committed = listFiles(join(example, "gen"));
    const differing = [...new Set([...fresh.keys(), ...committed.keys()])].filter(
      (file) => fresh.get(file) !== committed.get(file),
    );
    if (differing.length > 0) {
      console.error(
        `examples/quickstart/gen is stale; run \`node scripts/generate-examples.mjs\` and commit. Differing files:\n  ${differing.join("\n  ")}`,
      );
      process.exit(1);
    }
    console.log(`examples/quickstart/gen is up to date (${committed.size} files)`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

function listFiles(root) {
  const files = new Map();
  let entries = [];
  try {
    entries = readdirSync(root, { recursive: true, withFileTypes: true });
  } catch {
    return files;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    files.set(relative(root, file), readFileSync(file, "utf8"));
  }
  return files;
}
