// `grpc-audit --version` prints the version of the installed package (package.json's), and nothing else.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/index.js";
import { BUILD_TIMEOUT_MS, ensureBuilt, REPO, runCli, seedEvents, tempDir } from "./helpers.js";

beforeAll(() => ensureBuilt(), BUILD_TIMEOUT_MS);

it("prints package.json's version for --version and -V, and exits 0", async () => {
  const { version } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
  expect(version).toMatch(/^\d+\.\d+\.\d+/);
  for (const flag of ["--version", "-V"]) {
    expect(await runCli([flag])).toStrictEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  }
});

it("takes -V after a command as that command's (an option's value), not as the version", async () => {
  const db = join(tempDir(), "audit.db");
  const store = openAuditStore({ path: db });
  const [event, other] = seedEvents(2);
  if (event === undefined || other === undefined) throw new Error("no seed events");
  // A caller may choose any id: this one reads like the version flag.
  store.insert([{ ...event, requestId: "-V" }, other]);
  store.close();
  const run = await runCli(["query", "--db", db, "--request-id", "-V", "--json"]);
  expect([run.code, run.stderr]).toStrictEqual([0, ""]);
  const found = JSON.parse(run.stdout) as { events: { eventId: string; requestId: string }[] };
  expect(found.events.map((e) => [e.eventId, e.requestId])).toStrictEqual([[event.eventId, "-V"]]);
  expect(await runCli(["query", "--db", db, "-V"])).toStrictEqual({
    code: 2,
    stdout: "",
    stderr: "error: unknown option '-V'\n",
  });
});
