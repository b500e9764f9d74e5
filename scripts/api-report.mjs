// The API report: what each entry point of package.json "exports" makes public, written by API Extractor
// (config: api-extractor.jsonc) to etc/<name>.api.md and reviewed like code.
//
//   node scripts/api-report.mjs            check (npm run api:check, part of npm test): exit 1 with a
//                                          diff when an export was added, removed or changed
//   node scripts/api-report.mjs --update   rewrite the reports (npm run api:update); commit etc/
//   --declarations DIR                     read already emitted .d.ts from DIR (tests) instead of
//                                          emitting src/ with tsconfig.build.json
//
// The declarations go to a fresh folder under temp/ (ignored by git), never to dist/: inside the project
// so that their imports of @grpc/grpc-js and the others resolve from node_modules.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CompilerState, Extractor, ExtractorConfig } from "@microsoft/api-extractor";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CONFIG = join(ROOT, "api-extractor.jsonc");
const REPORTS = join(ROOT, "etc");

const { values } = parseArgs({
  options: { update: { type: "boolean", default: false }, declarations: { type: "string" } },
});

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

/** Each entry point with types: its report name and its declaration file, relative to dist/. */
function entryPoints() {
  return Object.entries(pkg.exports).flatMap(([subpath, target]) => {
    if (typeof target !== "object" || typeof target.types !== "string") return [];
    const suffix = subpath === "." ? "" : `-${subpath.slice(2).replaceAll("/", "-")}`;
    return [{ subpath, report: `${pkg.name}${suffix}`, dts: relative("dist", target.types) }];
  });
}

function emitDeclarations(outDir) {
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  const args = [tsc, "-p", join(ROOT, "tsconfig.build.json"), "--emitDeclarationOnly", "--outDir", outDir];
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) throw new Error("api-report: tsc could not emit the declarations");
}

function run() {
  mkdirSync(join(ROOT, "temp"), { recursive: true });
  const work = mkdtempSync(join(ROOT, "temp", "api-"));
  try {
    const dts = values.declarations === undefined ? join(work, "dts") : resolve(values.declarations);
    if (values.declarations === undefined) emitDeclarations(dts);
    return report(dts, join(work, "report"));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function report(dts, tempReports) {
  const entries = entryPoints();
  const configs = entries.map((entry) => {
    const configObject = ExtractorConfig.loadFile(CONFIG);
    configObject.mainEntryPointFilePath = join(dts, entry.dts);
    configObject.compiler.overrideTsconfig.include = [dts];
    configObject.apiReport.reportFileName = entry.report;
    configObject.apiReport.reportFolder = REPORTS;
    configObject.apiReport.reportTempFolder = tempReports;
    return ExtractorConfig.prepare({
      configObject,
      configObjectFullPath: CONFIG,
      packageJsonFullPath: join(ROOT, "package.json"),
    });
  });
  // One TypeScript program for every entry point: the analysis is the slow part.
  const compilerState = CompilerState.create(configs[0], {
    additionalEntryPoints: configs.map((config) => config.mainEntryPointFilePath),
  });
  const changed = [];
  let problems = 0;
  for (const [index, config] of configs.entries()) {
    const result = Extractor.invoke(config, {
      localBuild: values.update,
      compilerState,
      messageCallback: quiet,
    });
    problems += result.errorCount + result.warningCount;
    if (result.apiReportChanged) changed.push({ entry: entries[index], config });
  }
  if (values.update) {
    for (const { entry } of changed) console.log(`api-report: updated etc/${entry.report}.api.md`);
    console.log(`api-report: the ${entries.length} reports in etc/ are up to date; commit them.`);
    return problems === 0 ? 0 : 1;
  }
  for (const { entry, config } of changed) {
    console.error(`\nThe public API of "${entry.subpath}" changed (etc/${entry.report}.api.md):`);
    const expected = existsSync(config.reportFilePath) ? config.reportFilePath : "/dev/null";
    const diff = spawnSync("diff", ["-u", expected, config.reportTempFilePath], { encoding: "utf8" });
    console.error(diff.stdout || diff.stderr);
  }
  if (changed.length > 0) {
    console.error(
      "\napi-report: the public API differs from the reviewed report in etc/. If the change is meant," +
        " run `npm run api:update` and commit etc/ with it.",
    );
    return 1;
  }
  if (problems > 0) return 1;
  console.log(`api-report: the public API of ${entries.length} entry points matches etc/.`);
  return 0;
}

/** API Extractor's notes on the report files themselves: this script says what changed, with a diff. */
const REPORT_NOTES = new Set([
  "console-api-report-not-copied",
  "console-api-report-copied",
  "console-api-report-created",
  "console-api-report-diff",
]);

/** Drops API Extractor's chatter (analysed files, TypeScript version notes); warnings and errors stay. */
function quiet(message) {
  if (REPORT_NOTES.has(message.messageId)) message.logLevel = "none";
  if (message.logLevel === "info" || message.logLevel === "verbose" || message.logLevel === "none") {
    message.handled = true;
  }
}

process.exitCode = run();
