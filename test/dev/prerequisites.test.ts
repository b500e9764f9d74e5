// Missing system tools fail with one line that names the tool and the command installing it: checked
// with a search path that lacks them (an empty folder), and through the helpers that start them.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startNatsServer } from "../helpers/nats-server.js";
import { requireTool } from "../helpers/prerequisites.js";

const empty = mkdtempSync(join(tmpdir(), "grpc-audit-no-tools-"));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe("requireTool", () => {
  it("names the missing tool and its apt package in one line", () => {
    expect(() => requireTool("nats-server", empty)).toThrow(
      new Error("nats-server not found: apt-get install -y nats-server"),
    );
    expect(() => requireTool("protoc", `${empty}${delimiter}${join(empty, "nowhere")}`)).toThrow(
      new Error("protoc not found: apt-get install -y protobuf-compiler"),
    );
  });

  it("finds an executable file on the search path, as command -v does, and skips what is not one", () => {
    const notExecutable = join(empty, "a");
    const folder = join(empty, "b");
    const found = join(empty, "c");
    mkdirSync(notExecutable);
    writeFileSync(join(notExecutable, "protoc"), "");
    mkdirSync(join(folder, "protoc"), { recursive: true });
    mkdirSync(found);
    writeFileSync(join(found, "protoc"), "#!/bin/sh\n");
    chmodSync(join(found, "protoc"), 0o755);
    expect(requireTool("protoc", [notExecutable, folder, found].join(delimiter))).toBe(join(found, "protoc"));
  });
});

describe("startNatsServer", () => {
  it("rejects with the one-line message when nats-server is not on its search path", async () => {
    await expect(startNatsServer({ searchPath: empty })).rejects.toThrow(
      new Error("nats-server not found: apt-get install -y nats-server"),
    );
  });
});
