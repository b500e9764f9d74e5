/**
 * A real PostgreSQL server for the test file or describe block that calls `usePostgresForCli`, started
 * (with the CLI built, for tests that run `grpc-audit`) before its tests, stopped after them. Apart from
 * postgres-server.ts, which the benchmarks import too, because this one registers vitest hooks.
 */
import { afterAll, beforeAll } from "vitest";
import { BUILD_TIMEOUT_MS, ensureBuilt } from "../cli/helpers.js";
import { type PostgresServer, startPostgresServer } from "./postgres-server.js";

/** Registers the hooks; the returned function gives the server inside tests. */
export function usePostgresForCli(): () => PostgresServer {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    [server] = await Promise.all([startPostgresServer(), ensureBuilt()]);
  }, BUILD_TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error("the PostgreSQL server of this suite is not started");
    return server;
  };
}
