// The runtime package `grpc-audit` pulls no TypeScript compiler into its users' production installs:
// the codegen plugin, which needs one through @bufbuild/protoplugin, is its own package
// (packages/protoc-gen-grpc-audit). This reads the tree npm resolved, from package-lock.json, without
// network; `.ci/run` also installs the packed runtime into a fresh app (scripts/check-runtime-package.mjs).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const REPO = join(import.meta.dirname, "../..");

/** What this test reads of one package-lock.json entry. */
interface LockEntry {
  link?: boolean;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const packages = (
  JSON.parse(readFileSync(join(REPO, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  }
).packages;

/** The lock location `name` resolves to from the package at `from`: the nearest node_modules up the path. */
function resolve(name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const location = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (packages[location] !== undefined) return location;
    if (dir === "") return undefined;
    const parent = dir.lastIndexOf("/node_modules/");
    dir = parent === -1 ? "" : dir.slice(0, parent);
  }
}

/**
 * Names of the packages a production install of the package at `root` holds: its dependencies,
 * optional dependencies and required peers (npm installs those too), and theirs, transitively.
 */
function productionNames(root: string): Set<string> {
  const names = new Set<string>();
  const seen = new Set<string>();
  const visit = (location: string): void => {
    if (seen.has(location)) return;
    seen.add(location);
    const found = packages[location];
    if (found === undefined) throw new Error(`no lock entry at ${location}`);
    const entry = found.link === true && found.resolved !== undefined ? packages[found.resolved] : found;
    const at = found.link === true && found.resolved !== undefined ? found.resolved : location;
    if (entry === undefined) throw new Error(`no lock entry for the link ${location}`);
    const required = Object.keys({
      ...entry.dependencies,
      ...Object.fromEntries(
        Object.keys(entry.peerDependencies ?? {})
          .filter((name) => entry.peerDependenciesMeta?.[name]?.optional !== true)
          .map((name) => [name, ""]),
      ),
    });
    for (const name of required) {
      const target = resolve(name, at);
      if (target === undefined)
        throw new Error(`${name}, required by ${location || "the root"}, is not in the lock`);
      names.add(name);
      visit(target);
    }
    // An optional dependency missing from the lock is another platform's binary: nothing to install.
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      const target = resolve(name, at);
      if (target === undefined) continue;
      names.add(name);
      visit(target);
    }
  };
  visit(root);
  return names;
}

it("installs no typescript with the runtime package, which keeps @bufbuild/protobuf and its grpc-js peer", () => {
  const runtime = productionNames("");
  expect(runtime.has("typescript")).toBe(false);
  expect(runtime.has("@bufbuild/protoplugin")).toBe(false);
  expect(runtime.has("@bufbuild/protobuf")).toBe(true);
  expect(runtime.has("@grpc/grpc-js")).toBe(true);
});

it("installs typescript with the plugin package, through @bufbuild/protoplugin", () => {
  const plugin = productionNames("packages/protoc-gen-grpc-audit");
  expect(plugin.has("@bufbuild/protoplugin")).toBe(true);
  expect(plugin.has("typescript")).toBe(true);
});
