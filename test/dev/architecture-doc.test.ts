// docs/architecture.md is where src/ is listed in the order a call's data travels (`ls src` sorts by
// name). It must stay true as folders come and go: every folder of src/ described there, in a table row
// of its own or in the paragraph of folders beside the flow, and in the folder rules; none that is gone.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = resolve(import.meta.dirname, "../..");
const DOC = readFileSync(join(REPO, "docs/architecture.md"), "utf8");
const sorted = (names: Iterable<string>) => [...names].sort();

const folders = sorted(
  readdirSync(join(REPO, "src"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name),
);

/** The folders a table row of the doc starts with: "| `name/` | what it holds |". */
const tableFolders = [...DOC.matchAll(/^\| `([a-z]+)\/` +\|/gm)].map((match) => match[1]);
/** The folders the "Beside the flow" paragraph names. */
const besideFolders = [...(DOC.split("Beside the flow:")[1] ?? "").matchAll(/`([a-z]+)\/`/g)].map(
  (match) => match[1],
);

describe("docs/architecture.md", () => {
  it("describes every folder of src/ once, and no folder that does not exist", () => {
    expect(sorted([...tableFolders, ...besideFolders])).toStrictEqual(folders);
  });

  it("lists a call's folders in data-flow order (context, rules first; interceptors, recorder, event, emitters) and the CLI last", () => {
    const flow = tableFolders.slice(0, tableFolders.indexOf("delivery") + 1);
    expect(flow.slice(0, 2)).toStrictEqual(["context", "rules"]);
    expect(flow.indexOf("interceptors")).toBeLessThan(flow.indexOf("recorder"));
    expect(flow.indexOf("recorder")).toBeLessThan(flow.indexOf("event"));
    expect(flow.indexOf("event")).toBeLessThan(flow.indexOf("emitters"));
    expect(tableFolders.at(-1)).toBe("cli");
  });

  it("names the same folders the folder rules know", async () => {
    const config = await import(join(REPO, ".dependency-cruiser.cjs"));
    const rules = (config.default.forbidden as { name: string }[])
      .map((rule) => /^folder-(.+)$/.exec(rule.name)?.[1])
      .filter((name): name is string => name !== undefined && name !== "unknown");
    // gen/ holds generated code only: excluded from the check, it has a rule all the same.
    expect(sorted(rules)).toStrictEqual(folders);
  });
});
