/**
 * `grpc-audit ui --host` with a value that is no address, run as the built command: a usage error
 * (exit 2, naming what is wrong), as docs/ui.md promises for a bad option, not a failed start
 * (exit 1, ENOTFOUND from listen). A well-formed name that does not resolve is still a failed start.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openAuditStore } from "../../src/store/audit-store.js";
import { isHost, isHostName } from "../../src/ui/ui-server.js";
import { BUILD_TIMEOUT_MS, runCli, tempDir } from "../cli/helpers.js";
import { sampleEvent } from "../helpers/events.js";
import { buildViewer, startViewer } from "./viewer.js";

beforeAll(buildViewer, BUILD_TIMEOUT_MS);

/** A store with one event, so that a run gets as far as listening. */
function oneEventStore(): string {
  const store = openAuditStore({ path: join(tempDir(), "one.db") });
  store.insert([sampleEvent({ kind: "authn" })]);
  store.close();
  return store.path;
}

describe("grpc-audit ui --host", () => {
  it.each([
    ["a b", "Use a host name or an IP address, such as localhost, 127.0.0.1 or ::1."],
    ["[::1", "Brackets hold an IPv6 address, such as [::1]."],
    ["999.1.1.1", "It is not an IPv4 address: four numbers from 0 to 255, such as 127.0.0.1."],
    ["1.2.3.4.5", "It is not an IPv4 address: four numbers from 0 to 255, such as 127.0.0.1."],
    ["127.0.0.1:8080", "It has a port: give the port with --port."],
    ["[::1]:8080", "It has a port: give the port with --port."],
  ])("refuses %j as a usage error", async (host, reason) => {
    const run = await runCli(["ui", "--db", oneEventStore(), "--port", "0", "--host", host]);
    expect(run).toStrictEqual({
      code: 2,
      stdout: "",
      stderr: `error: option '--host <address>' argument '${host}' is invalid. ${reason}\n`,
    });
  });

  it("fails to start, exit 1, on a well-formed name that does not resolve", async () => {
    const run = await runCli(["ui", "--db", oneEventStore(), "--port", "0", "--host", "nowhere.invalid"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(
      /^error: web viewer: cannot listen on nowhere\.invalid port 0 \((?:ENOTFOUND|EAI_AGAIN)\)\n$/,
    );
  });

  it("listens on an IPv4 address written short, as getaddrinfo reads it (0x7f.1 is 127.0.0.1)", async () => {
    const viewer = await startViewer(["--db", oneEventStore(), "--host", "0x7f.1"]);
    expect(viewer.url).toMatch(/^http:\/\/0x7f\.1:\d+\/$/);
    expect(await viewer.stop()).toBe(0);
    expect(viewer.stderr()).toBe(""); // loopback: no warning
  });
});

describe("the host check --host and --allowed-host share", () => {
  it("takes names and addresses, IPv6 alone or in brackets", () => {
    const hosts = ["localhost", "audit.example.com.", "a_b-c.example", "10.0.0.5", "127.1", "::1", "[::1]"];
    expect(hosts.filter((host) => !isHost(host))).toStrictEqual([]);
  });

  it("refuses a name that ends in a number but is no IPv4 address, and anything with a port", () => {
    const refused = [
      "999.1.1.1",
      "256.0.0.1",
      "1.2.3.4.5",
      "09.1.1.1",
      "a.1",
      "[localhost]",
      "[::1",
      "a:80",
      "",
    ];
    expect(refused.filter((host) => isHost(host))).toStrictEqual([]);
  });

  it("takes a port beside the host in --allowed-host, and refuses 999.1.1.1 there too", () => {
    expect(["proxy.example:8443", "[::1]:4747", "::1", "10.0.0.5:80"].every(isHostName)).toBe(true);
    expect(["999.1.1.1", "999.1.1.1:80", "[::1:80", "a b:80"].some(isHostName)).toBe(false);
  });
});
