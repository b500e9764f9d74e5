// Packs the runtime package `grpc-audit` and the plugin package `protoc-gen-grpc-audit`, installs the
// runtime tarball into a fresh app as a user would (`npm install grpc-audit`), and fails when that
// app's production tree holds `typescript`. Prints the tarball sizes and the app's node_modules size.
// Run by `.ci/run` after `npm ci`: the fresh app resolves the runtime's dependencies from the npm
// registry (npm ci caches tarballs but not the package metadata an install needs, so it cannot run
// offline). test/package/runtime-dependencies.test.ts checks the same from package-lock.json, offline.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";

const repo = resolve(import.meta.dirname, "..");
const tmp = mkdtempSync(join(tmpdir(), "grpc-audit-pack-"));
const npm = (args, cwd) =>
  execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
const kib = (bytes) => `${Math.round(bytes / 1024)} KiB`;

try {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: repo, stdio: "inherit" });
  const [runtime] = JSON.parse(npm(["pack", "--json", "--pack-destination", tmp], repo));
  const [plugin] = JSON.parse(
    npm(
      ["pack", "--json", "--ignore-scripts", "--pack-destination", tmp, "-w", "protoc-gen-grpc-audit"],
      repo,
    ),
  );
  const app = join(tmp, "app");
  mkdirSync(app);
  writeFileSync(
    join(app, "package.json"),
    `${JSON.stringify({ name: "app", version: "1.0.0", private: true })}\n`,
  );
  // --ignore-scripts: only the tree matters here, not building the peers' native addons.
  npm(
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--prefer-offline",
      join(tmp, runtime.filename),
    ],
    app,
  );
  const tree = npm(["ls", "--all", "--omit=dev", "--parseable"], app).trim().split("\n");
  const typescript = tree.filter((path) => path.endsWith(`${sep}typescript`));
  const size = execFileSync("du", ["-sk", join(app, "node_modules")], { encoding: "utf8" }).split("\t")[0];
  console.log(
    [
      `${runtime.filename}: ${kib(statSync(join(tmp, runtime.filename)).size)} packed, ${kib(runtime.unpackedSize)} unpacked`,
      `${plugin.filename}: ${kib(statSync(join(tmp, plugin.filename)).size)} packed, ${kib(plugin.unpackedSize)} unpacked`,
      `a fresh app with ${runtime.filename}: ${tree.length - 1} packages, node_modules ${Math.round(Number(size) / 1024)} MiB`,
    ].join("\n"),
  );
  // npm ships a LICENSE at the package's root whatever `files` says; both packages declare Apache-2.0.
  for (const pack of [runtime, plugin]) {
    if (!pack.files.some((file) => file.path === "LICENSE")) {
      console.error(`${pack.filename} holds no LICENSE`);
      process.exitCode = 1;
    }
  }
  // A source map is only worth shipping with the files it names; the packages ship dist, not src.
  for (const pack of [runtime, plugin]) {
    const maps = pack.files.filter((file) => file.path.endsWith(".map"));
    if (maps.length > 0) {
      console.error(`${pack.filename} holds ${maps.length} source maps, such as ${maps[0].path}`);
      process.exitCode = 1;
    }
  }
  if (typescript.length > 0) {
    console.error(`typescript is in the runtime's production tree:\n  ${typescript.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log("no typescript in the runtime's production tree");
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
