// The ```ts examples in the TSDoc of the public API (what an editor shows on hover, and what the
// published .d.ts files hold) call only what a user can import: no function that src/ exports to
// itself but no entry point of package.json "exports" does, such as the internal `createBrokerSink`.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { entryProgram, entrySources } from "./entry-program.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** For each public export whose TSDoc has a ts example: the names its examples call that no entry point exports. */
function internalNamesInExamples(): { examples: number; problems: string[] } {
  const entries = entrySources();
  const program = entryProgram(entries);
  const checker = program.getTypeChecker();
  const exportsOf = (file: ts.SourceFile): ts.Symbol[] => {
    const module = checker.getSymbolAtLocation(file);
    return module === undefined ? [] : checker.getExportsOfModule(module);
  };
  const publicNames = new Set<string>();
  const publicSymbols: ts.Symbol[] = [];
  for (const entry of entries) {
    const file = program.getSourceFile(entry);
    if (file === undefined) throw new Error(`no source file ${entry}`);
    for (const exported of exportsOf(file)) {
      publicNames.add(exported.name);
      publicSymbols.push(
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported,
      );
    }
  }
  const internalNames = new Set(
    program
      .getSourceFiles()
      .filter((file) => file.fileName.startsWith(join(REPO, "src")))
      .flatMap((file) => exportsOf(file).map((symbol) => symbol.name))
      .filter((name) => !publicNames.has(name)),
  );
  let examples = 0;
  const problems = new Set<string>();
  for (const symbol of publicSymbols) {
    const doc = ts.displayPartsToString(symbol.getDocumentationComment(checker));
    for (const [, code = ""] of doc.matchAll(/```ts\n([\s\S]*?)```/g)) {
      examples += 1;
      for (const [, called = ""] of code.matchAll(/\b([A-Za-z_]\w*)\s*\(/g))
        if (internalNames.has(called)) problems.add(`${symbol.name}: ${called}`);
    }
  }
  return { examples, problems: [...problems].sort() };
}

describe("the ts examples in the TSDoc of the public API", () => {
  it("call only functions an entry point exports", () => {
    const { examples, problems } = internalNamesInExamples();
    expect(examples).toBeGreaterThan(10);
    expect(problems).toEqual([]);
  }, 60_000);
});
