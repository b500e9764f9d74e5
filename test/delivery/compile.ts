/**
 * Turns TypeScript entry points (and the project files they import) into JavaScript in a temporary
 * folder, for tests that run code in a child process: vitest cannot run there, and plain node cannot
 * load .ts files on Node 20. Files are transpiled one by one (no type check: `npm test` runs tsc),
 * which takes well under a second.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface Compiled {
  /** The compiled .js file of an entry point given as a path relative to the repository. */
  file(entry: string): string;
  remove(): void;
}

/** Transpiles `entries` (paths relative to the repository root) and every relative import they reach. */
export function compile(entries: readonly string[]): Compiled {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "grpc-audit-compiled-"));
  // ESM like the package, with its version (the CLI prints it), and the repository's dependencies
  // resolvable from the compiled files.
  const { version } = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as {
    version: string;
  };
  fs.writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify({ type: "module", version })}\n`);
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(outDir, "node_modules"), "dir");
  const pending = entries.map((entry) => path.join(repo, entry));
  const done = new Set<string>();
  for (let source = pending.pop(); source !== undefined; source = pending.pop()) {
    if (done.has(source)) continue;
    done.add(source);
    const text = fs.readFileSync(source, "utf8");
    const { outputText } = ts.transpileModule(text, {
      fileName: source,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const target = path.join(outDir, path.relative(repo, source)).replace(/\.ts$/, ".js");
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
    for (const { fileName } of ts.preProcessFile(text).importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const imported = path.resolve(path.dirname(source), fileName.replace(/\.js$/, ".ts"));
      if (fs.existsSync(imported)) pending.push(imported);
    }
  }
  return {
    file: (entry) => path.join(outDir, entry.replace(/\.ts$/, ".js")),
    remove: () => fs.rmSync(outDir, { recursive: true, force: true }),
  };
}
