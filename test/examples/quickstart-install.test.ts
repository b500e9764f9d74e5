// The README's step 1 installs every package the quickstart's code imports: its own files and the code
// `npx buf generate` writes into gen/. npm happens to hoist grpc-audit's own dependencies (jose,
// @bufbuild/protobuf) to the top of node_modules, but a package manager that installs only what the
// app names (pnpm, Yarn Plug'n'Play) does not, and an import of an unnamed package then fails.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const QUICKSTART = join(REPO, "examples/quickstart");

/** The packages the README's "1. Install" commands name. */
function installed(): Set<string> {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const step = readme.slice(readme.indexOf("**1. Install**"), readme.indexOf("**2. Configure buf.**"));
  const commands = [...step.matchAll(/^npm install (.+)$/gm)].map(([, args = ""]) => args);
  expect(commands).toHaveLength(2);
  return new Set(commands.flatMap((args) => args.split(/\s+/).filter((arg) => !arg.startsWith("-"))));
}

/** The packages the quickstart's TypeScript files import (bare specifiers, not `node:`), by file. */
function imported(): Map<string, string[]> {
  const files = readdirSync(QUICKSTART, { recursive: true, encoding: "utf8" }).filter((name) =>
    name.endsWith(".ts"),
  );
  const packages = new Map<string, string[]>();
  for (const file of files.sort()) {
    const text = readFileSync(join(QUICKSTART, file), "utf8");
    for (const [, specifier = ""] of text.matchAll(/^(?:import|export)\b[^"]*?from "([^"]+)";$/gms)) {
      if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
      const parts = specifier.split("/");
      const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? "");
      packages.set(name, [...(packages.get(name) ?? []), file]);
    }
  }
  return packages;
}

it("names every package the quickstart's files and its generated code import", () => {
  const packages = imported();
  expect([...packages.keys()]).toEqual(expect.arrayContaining(["grpc-audit", "@grpc/grpc-js", "pino"]));
  const names = installed();
  const missing = [...packages]
    .filter(([name]) => !names.has(name))
    .map(([name, files]) => `${name} (${files.join(", ")})`);
  expect(missing).toEqual([]);
});
