/**
 * `startUiServer`'s `host` option takes what `grpc-audit ui --host` takes (`isHost`): a value that is
 * no host name or IP address, or one with a port, is a bad option (an AuditConfigError naming it),
 * not a failed listen; an IPv6 address in brackets, as a URL writes it, is listened on.
 */
import { describe, expect, it } from "vitest";
import { AuditConfigError } from "../../src/errors/index.js";
import { startUiServer } from "../../src/ui/ui-server.js";
import type { UiSource } from "../../src/ui/ui-source.js";
import { emptyVerifyReport } from "./viewer.js";

const source: UiSource = {
  name: "test.db",
  query: async () => ({ events: [], nextCursor: undefined }),
  stats: async () => ({ total: 0, byType: {}, byResult: {}, byDecision: {}, topOperations: [], perHour: [] }),
  verify: async () => emptyVerifyReport(),
};

const advice = "use a host name or IP address, without a port (give it as `port`)";

describe("startUiServer's host option", () => {
  it.each([
    ["", '""'],
    ["a b", '"a b"'],
    ["[::1", '"[::1"'],
    ["[localhost]", '"[localhost]"'],
    ["999.1.1.1", '"999.1.1.1"'],
    ["1.2.3.4.5", '"1.2.3.4.5"'],
    ["127.0.0.1:8080", '"127.0.0.1:8080"'],
    ["[::1]:8080", '"[::1]:8080"'],
    [4747, "4747"],
  ])("refuses %j as a bad option, naming it", async (host, named) => {
    await expect(startUiServer({ source, port: 0, host: host as string })).rejects.toThrow(
      new AuditConfigError(`web viewer: \`host\` is ${named}: ${advice}`),
    );
  });

  it("listens on an IPv6 address given in brackets, as a URL writes it", async () => {
    const viewer = await startUiServer({ source, port: 0, host: "[::1]" });
    try {
      expect(viewer.url).toBe(`http://[::1]:${viewer.port}/`);
      expect(viewer.loopback).toBe(true);
      expect((await fetch(`${viewer.url}api/info`)).status).toBe(200);
    } finally {
      await viewer.close();
    }
  });
});
