// Every option a user may leave out says what happens then: each optional field of each exported
// `…Options` type of every entry point (package.json "exports") has "Default" in its TSDoc. Read with the
// TypeScript compiler from src/, the way an editor shows it on hover.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** The source file of each entry point: "./dist/nats/index.d.ts" is src/nats/index.ts. */
function entrySources(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
    exports: Record<string, string | { types?: string }>;
  };
  return Object.values(pkg.exports).flatMap((target) =>
    typeof target === "object" && target.types !== undefined
      ? [join(REPO, target.types.replace(/^\.\/dist\//, "src/").replace(/\.d\.ts$/, ".ts"))]
      : [],
  );
}

/** "Type.field" for each optional field of an exported options type whose TSDoc gives no default. */
function fieldsWithoutDefault(): { types: string[]; missing: string[] } {
  const files = entrySources();
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
  });
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
