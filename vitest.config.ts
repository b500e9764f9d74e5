import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // The examples import the package by name, as a user's project does; here that name is the
    // source (tsconfig.json's `paths` says the same to tsc).
    alias: [
      { find: /^grpc-audit$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      // The example service of the demo lives beside the demo command.
      {
        find: /^grpc-audit\/demo$/,
        replacement: fileURLToPath(new URL("./src/cli/demo/index.ts", import.meta.url)),
      },
      {
        find: /^grpc-audit\/(.+)$/,
        replacement: fileURLToPath(new URL("./src/$1/index.ts", import.meta.url)),
      },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Most of the suite's time is waiting on real servers, child processes and timers, not CPU: run one
    // file more than there are cores (three on 2 cores, where vitest's default, cores - 1, would run one).
    // Builds that test files share take turns (test/helpers/build-once.ts).
    maxWorkers: availableParallelism() + 1,
    // Tests start real servers and write real files; a hung one must fail, not stall CI.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
