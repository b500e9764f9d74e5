/** The public entry points' source files, and a TypeScript program over them, for the API checks. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/** The source file of each entry point: "./dist/nats/index.d.ts" is src/nats/index.ts. */
export function entrySources(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
    exports: Record<string, string | { types?: string }>;
  };
  return Object.values(pkg.exports).flatMap((target) =>
    typeof target === "object" && target.types !== undefined
      ? [join(REPO, target.types.replace(/^\.\/dist\//, "src/").replace(/\.d\.ts$/, ".ts"))]
      : [],
  );
}

/** A program over `files`, read as an editor reads them (strict, Node's module resolution). */
export function entryProgram(files: readonly string[]): ts.Program {
  return ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
  });
}
