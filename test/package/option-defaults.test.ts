// Every option a user may leave out says what happens then: each optional field of each exported
// `…Options` type of every entry point (package.json "exports") has "Default" in its TSDoc. Read with the
// TypeScript compiler from src/, the way an editor shows it on hover.
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { entryProgram, entrySources } from "./entry-program.js";

/** "Type.field" for each optional field of an exported options type whose TSDoc gives no default. */
function fieldsWithoutDefault(): { types: string[]; missing: string[] } {
  const files = entrySources();
  const program = entryProgram(files);
  const checker = program.getTypeChecker();
  const types = new Set<string>();
  const missing: string[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file);
    const module = source && checker.getSymbolAtLocation(source);
    if (module === undefined) throw new Error(`no module for ${file}`);
    for (const exported of checker.getExportsOfModule(module)) {
      if (!exported.name.endsWith("Options") || types.has(exported.name)) continue;
      types.add(exported.name);
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      for (const field of checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol))) {
        if ((field.flags & ts.SymbolFlags.Optional) === 0) continue;
        if (field.getJsDocTags(checker).some((tag) => tag.name === "internal")) continue;
        const doc = ts.displayPartsToString(field.getDocumentationComment(checker));
        if (!doc.includes("Default")) missing.push(`${exported.name}.${field.name}`);
      }
    }
  }
  return { types: [...types].sort(), missing };
}

describe("exported option types", () => {
  it("give the default of every optional field in its TSDoc", () => {
    const { types, missing } = fieldsWithoutDefault();
    expect(types).toEqual(
      expect.arrayContaining(["RecorderOptions", "DeliveryEmitterOptions", "KafkaBrokerOptions"]),
    );
    expect(missing).toEqual([]);
  }, 60_000);
});
