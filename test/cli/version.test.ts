// `grpc-audit --version` prints the version of the installed package (package.json's), and nothing else.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt, REPO, runCli } from "./helpers.js";

beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

it("prints package.json's version for --version and -V, and exits 0", async () => {
  const { version } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
  expect(version).toMatch(/^\d+\.\d+\.\d+/);
  for (const flag of ["--version", "-V"]) {
    expect(await runCli([flag])).toStrictEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  }
});
