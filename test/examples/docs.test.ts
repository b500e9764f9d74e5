// Guards the README and docs/ against drift: code blocks marked as example files are those files
// verbatim, every relative link and every repository path they mention exists, and the README stays a
// front door (at most 15 KB).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const PAGES = [
  "README.md",
  "examples/README.md",
  ...readdirSync(join(REPO, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];
const read = (file: string) => readFileSync(join(REPO, file), "utf8");

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a Markdown file's headings (outside code blocks). */
function anchors(file: string): Set<string> {
  const prose = read(file).replace(/^```[\s\S]*?^```/gm, "");
  return new Set([...prose.matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1] ?? "")));
}

/** Problems with the relative links of one page: a missing file, or an anchor no heading has. */
function brokenLinks(page: string): string[] {
  const problems: string[] = [];
  for (const [, target = ""] of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
    const [path = "", anchor] = target.split("#");
    const file = path === "" ? page : relative(REPO, join(REPO, dirname(page), path));
    if (!existsSync(join(REPO, file))) problems.push(`${page}: link ${target}: no such file`);
    else if (anchor !== undefined && (!file.endsWith(".md") || !anchors(file).has(anchor)))
      problems.push(`${page}: link ${target}: no such heading`);
  }
  return problems;
}

/** Repository paths a page mentions (src/…, docs/…, examples/…, proto/…, test/…, scripts/…) that do not exist. */
function missingPaths(page: string): string[] {
  const paths = read(page).matchAll(/(?<![\w./@-])(?:src|docs|examples|proto|test|scripts)\/[\w./-]*[\w/]/g);
  return [...paths].map(([path]) => path).filter((path) => !existsSync(join(REPO, path)));
}

describe("README.md and docs/", () => {
  it("has the pages of the index, each linked from docs/README.md", () => {
    const index = read("docs/README.md");
    const linked = [...index.matchAll(/\]\(([\w-]+\.md)\)/g)].map((match) => `docs/${match[1]}`);
    expect(linked.sort()).toEqual(
      PAGES.filter((page) => page.startsWith("docs/") && page !== "docs/README.md").sort(),
    );
  });

  it("links only to files and headings that exist", () => {
    expect(PAGES.flatMap(brokenLinks)).toEqual([]);
  });

  it("mentions only repository paths that exist", () => {
    expect(PAGES.flatMap((page) => missingPaths(page).map((path) => `${page}: ${path}`))).toEqual([]);
  });

  it("keeps the README a front door: at most 15 KB", () => {
    expect(statSync(join(REPO, "README.md")).size).toBeLessThanOrEqual(15 * 1024);
  });
});

describe("README code blocks marked as example files", () => {
  const blocks = [
    ...read("README.md").matchAll(/<!-- (example|excerpt): (\S+) -->\n```\w*\n([\s\S]*?)^```$/gm),
  ].map(([, kind = "", file = "", code = ""]) => ({ kind, file, code }));

  it("include the quickstart's server, as the walkthrough's wiring", () => {
    expect(blocks.map((block) => block.file)).toContain("examples/quickstart/server.ts");
  });

  it.each(blocks)("$kind of $file is the file's text verbatim", ({ kind, file, code }) => {
    const text = read(file);
    if (kind === "example") expect(code).toBe(text);
    else expect(text).toContain(code);
  });
});
