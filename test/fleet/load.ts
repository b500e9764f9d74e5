/** The fleet test's load: calls of every kind to one replica, some refused by authn or authz. */
import { credentials, Metadata, status } from "@grpc/grpc-js";
import { ProjectServiceClient } from "../../src/cli/demo/gen/example/v1/projects.js";
import { CALL_KINDS, callOfKind } from "../helpers/project-server.js";

/** The callers: alice may do everything, bob nothing (authz denies), "none" sends no token (authn refuses). */
export interface Tokens {
  alice: string;
  bob: string;
}

/** The tuples that let alice make every call of the load. */
export const ALICE_TUPLES = [
  "user:alice|owner|project:p-1",
  "user:alice|editor|project:p-1",
  "user:alice|admin|project:global",
];

/** Who makes call `i`: mostly alice; every tenth bob, and every tenth one more has no token. */
function callerOf(i: number): "alice" | "bob" | "none" {
  if (i % 10 === 7) return "bob";
  if (i % 10 === 9) return "none";
  return "alice";
}

const EXPECTED_CODE = { alice: status.OK, bob: status.PERMISSION_DENIED, none: status.UNAUTHENTICATED };

/**
 * Makes calls `from` to `to - 1` to the replica on `port`, `concurrency` at a time, cycling through the
 * four call kinds; resolves to the calls whose status was not the one their caller must get (empty when
 * all were as expected).
 */
export async function runLoad(
  port: number,
  tokens: Tokens,
  from: number,
  to: number,
  concurrency = 16,
): Promise<string[]> {
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const unexpected: string[] = [];
  let next = from;
  const worker = async () => {
    for (let i = next++; i < to; i = next++) {
      const caller = callerOf(i);
      const kind = CALL_KINDS[i % CALL_KINDS.length] ?? "unary";
      const metadata = new Metadata();
      metadata.set("x-project-id", "p-1");
      if (caller !== "none") metadata.set("authorization", `Bearer ${tokens[caller]}`);
      const { code } = await callOfKind(client, kind, metadata);
      if (code !== EXPECTED_CODE[caller]) unexpected.push(`call ${i} (${kind}, ${caller}): ${status[code]}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  client.close();
  return unexpected;
}
