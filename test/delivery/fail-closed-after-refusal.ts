// The calls of a fail-closed ("fail-rpc") project server whose emitter's sink refuses events as too
// large only when it writes them: one call, a flush (the refusal), then five more; what the clients got
// and the emitter's stats. Shared by the Kafka (wire stand-in) and NATS end-to-end tests.
import { Metadata, type status } from "@grpc/grpc-js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import type { DeliveryEmitter } from "../../src/delivery/delivery-emitter.js";
import type { DeliveryStats } from "../../src/delivery/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { jwtAuthenticatorFor, newSigningKey, signToken } from "../helpers/jwt.js";
import { callOfKind, startProjectServer } from "../helpers/project-server.js";

export interface CallsAfterRefusal {
  /** The first call's status, and how many events the emitter had accepted after it. */
  readonly first: { readonly code: status | undefined; readonly accepted: number };
  /** The statuses of the five calls made after the flush. */
  readonly later: readonly (status | undefined)[];
  readonly stats: DeliveryStats;
}

export async function callsAfterRefusal(emitter: DeliveryEmitter): Promise<CallsAfterRefusal> {
  const key = await newSigningKey("k1", "ES256");
  const token = await signToken(key, { sub: "alice" });
  const recorder = createRecorder({ service: "projects", emitters: [emitter] });
  const server = await startProjectServer(
    createAuditInterceptors({
      recorder,
      rules: auditRules,
      failMode: "closed",
      authn: { authenticators: [jwtAuthenticatorFor(key)] },
    }),
  );
  const call = async () => {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);
    return (await callOfKind(server.client, "unary", metadata)).code;
  };
  try {
    const code = await call();
    const first = { code, accepted: emitter.stats().accepted };
    await emitter.flush({ timeoutMs: 10_000 });
    const later: (status | undefined)[] = [];
    for (let i = 0; i < 5; i++) later.push(await call());
    return { first, later, stats: emitter.stats() };
  } finally {
    await server.close();
    await recorder.close();
  }
}
