// The README, docs/, examples/ and the CHANGELOG ship in the npm tarball, where users read them
// (node_modules/grpc-audit, the registry's page): a relative link in any shipped Markdown file must
// reach a file the tarball holds, not one only a clone has.
// npm itself says what it would pack; no link points into dist/, so this needs no build.
// test/examples/docs.test.ts checks the same links against the repository.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
/** The paths `npm pack` would put in the tarball, relative to the package root. */
function packedPaths(): string[] {
  const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: REPO,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [pack] = JSON.parse(output) as [{ files: { path: string }[] }];
  return pack.files.map((file) => file.path);
}

/** The relative links of one page whose target is not in `packed`: a file, or a folder with no file in it. */
function unshippedLinks(page: string, packed: readonly string[]): string[] {
  const missing: string[] = [];
  for (const [, target = ""] of readFileSync(join(REPO, page), "utf8").matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
    const [path = ""] = target.split("#");
    if (path === "") continue; // a heading of the same page
    const file = posix.join(posix.dirname(page), path).replace(/\/$/, "");
    if (!packed.some((packedPath) => packedPath === file || packedPath.startsWith(`${file}/`))) {
      missing.push(`${page}: ${target}`);
    }
  }
  return missing;
}

it("ships every file its Markdown files (README, docs/, examples/, CHANGELOG) link to", () => {
  const packed = packedPaths();
  const pages = packed.filter((path) => path.endsWith(".md"));
  expect(pages).toEqual(
    expect.arrayContaining(["README.md", "CHANGELOG.md", "docs/rules.md", "examples/README.md"]),
  );
  expect(pages.flatMap((page) => unshippedLinks(page, packed))).toEqual([]);
});
