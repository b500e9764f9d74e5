// `grpc-audit tail --db postgres://…` ended with exit 1 when the server was unreachable for longer than
// one interval (a restart), and a URL without a password was named `postgres://…@host`, one with a
// password `postgres://user@host`.
import net from "node:net";
import { expect, it } from "vitest";
import { openPostgresStore } from "../../src/postgres/index.js";
import { usePostgresForCli } from "../helpers/postgres-suite.js";
import { runCli, seedEvents, tailCli } from "./helpers.js";

const server = usePostgresForCli();

/** A loopback TCP path to the server that can go down (connections reset, new ones refused) and up. */
async function cuttablePath(targetPort: number) {
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
  await listen(0);
  const port = (proxy.address() as net.AddressInfo).port;
  return {
    port,
    down: () => {
      proxy.close();
      for (const socket of sockets) socket.resetAndDestroy();
    },
    up: () => listen(port),
    close: () => new Promise((resolve) => proxy.close(resolve)),
  };
}

it("goes on following when the server is unreachable for a while, and says when it is back", async () => {
  const url = await server().createDatabase();
  const store = await openPostgresStore({ connectionString: url });
  const path = await cuttablePath(server().port);
  try {
    await store.insert(seedEvents(1));
    const through = url.replace(`:${server().port}/`, `:${path.port}/`);
    const run = tailCli(["--db", through, "--json"]);
    await run.ready();
    path.down();
    await run.until(() => run.out.stderr.includes("reading again"), "that it lost the server");
    await path.up();
    const later = seedEvents(3);
    await store.insert(later);
    await run.until(() => run.lines().length >= later.length, "the events stored meanwhile");
    expect(await run.interrupt()).toBe(0);
    expect(run.lines().map((line) => JSON.parse(line).eventId)).toStrictEqual(later.map((e) => e.eventId));
    const lostLines = run.out.stderr.split("\n").filter((line) => line.includes("reading again"));
    // One line: the cut refuses the next connection, or, when a read was under way as it cut (a loaded
    // machine), resets that read's connection.
    expect(lostLines).toHaveLength(1);
    expect([
      `error: postgres store ${through}: connect ECONNREFUSED 127.0.0.1:${path.port} (reading again every 50 ms)`,
      `error: postgres store ${through}: read ECONNRESET (reading again every 50 ms)`,
      `error: postgres store ${through}: write ECONNRESET (reading again every 50 ms)`,
    ]).toContain(lostLines[0]);
    expect(run.out.stderr).toContain(`tail: ${through} is back`);
  } finally {
    await store.close();
    await path.close();
  }
});

it("names a store given without a password as it was given, and one with a password without it", async () => {
  const url = "postgres://audit@127.0.0.1:1/audit";
  for (const given of [url, "postgres://audit:s3cret@127.0.0.1:1/audit"]) {
    expect(await runCli(["tail", "--db", given])).toStrictEqual({
      code: 1,
      stdout: "",
      stderr: `error: postgres store ${url}: connect ECONNREFUSED 127.0.0.1:1\n`,
    });
  }
});
