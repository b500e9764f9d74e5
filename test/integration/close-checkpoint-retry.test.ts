// A call that ends while recorder.close() waits to write its final checkpoint again, over real loopback
// gRPC. close() writes the final checkpoint; when a full delivery queue refuses it, close() waits for
// the queue to be written out and writes another. Calls still in flight go on ending meanwhile, and
// their events are accepted: they must be linked into the chain and covered by the second final
// checkpoint. They used to be delivered unchained (the chain was sealed by the refused checkpoint),
// outside the tamper-evident trail, where deleting one leaves no trace for `grpc-audit verify`; and
// verify must not take them for events appended after the seal in the trail of an emitter that took
// the first final checkpoint.
import {
  credentials,
  Server,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { verifyChains } from "../../src/chain/verify.js";
import {
  type CreateProjectRequest,
  type Project,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { createDeliveryEmitter } from "../../src/delivery/index.js";
import type { AuditEvent } from "../../src/gen/grpcaudit/v1/event.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";
import { createRecorder } from "../../src/recorder/recorder.js";
import { KEY_ID, PUBLIC_KEYS, recordMutations, SIGNING_KEY } from "../chain/trail.js";
import { createFakeSink, until } from "../helpers/fake-sink.js";
import { listenOnLoopback } from "../helpers/loopback-server.js";

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

const seqs = (trail: AuditEvent[]) => trail.map((e) => [e.detail?.$case, e.target?.id, e.chain?.seq]);

describe("a call ending while close() writes its final checkpoint again", () => {
  it.each([
    ["one emitter, which refused the first final checkpoint", false],
    ["two emitters, one of which took the first final checkpoint", true],
  ])("%s: it is chained, and every trail verifies sealed", async (_name, withOther) => {
    const sink = createFakeSink();
    sink.mode = "hold";
    const full = createDeliveryEmitter({ sink, flushIntervalMs: 0, maxQueueEvents: 2 });
    const otherSink = createFakeSink();
    const other = createDeliveryEmitter({ sink: otherSink, flushIntervalMs: 0 });
    const recorder = createRecorder({
      service: "projects",
      emitters: withOther ? [full, other] : [full],
      chain: { signingKey: SIGNING_KEY, keyId: KEY_ID, checkpointEvery: 1000 },
      // close() does not wait for the call in flight (as when closeWaitMs ran out): it ends during the retry.
      closeWaitMs: 0,
    });

    // CreateProject answers when the test says so.
    let answer: (() => void) | undefined;
    const server = new Server({ interceptors: createAuditInterceptors({ recorder, rules: auditRules }) });
    server.addService(ProjectServiceService, {
      createProject(_call: ServerUnaryCall<CreateProjectRequest, Project>, done: sendUnaryData<Project>) {
        answer = () => done(null, { id: "p-in-flight", name: "n", ownerId: "" });
      },
    } as never);
    const port = await listenOnLoopback(server);
    const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    cleanup = () => {
      client.close();
      server.forceShutdown();
    };

    const ended = new Promise<ServiceError | null>((resolve) =>
      client.createProject({ name: "n" }, (error) => resolve(error)),
    );
    await until(() => answer !== undefined);

    recordMutations(recorder, 1); // seq 1: being written, held by the sink
    await until(() => sink.held.length === 1);
    recordMutations(recorder, 1, 2); // seq 2: the queue is full
    const closing = recorder.close(); // the final checkpoint (seq 3) is refused there: queue_full

    sink.ackHeld(); // seq 1 is written; seq 2 is being written: room for one more
    await until(() => sink.held.length === 1);
    answer?.(); // the call in flight ends now, while close() waits
    expect(await ended).toBeNull();
    await until(() => full.stats().queueEvents === 2);

    sink.mode = "ack";
    sink.ackHeld();
    await closing;

    const trail = sink.received.flat();
    expect(seqs(trail)).toStrictEqual([
      ["resourceMutation", "p-1", 1],
      ["resourceMutation", "p-2", 2],
      ["resourceMutation", "p-in-flight", 4],
      ["checkpoint", undefined, 5],
    ]);
    const verified = await verifyChains(trail, { publicKeys: PUBLIC_KEYS, expectSealed: true });
    expect(verified.unchained).toBe(0);
    // Sealed; its one gap is the refused checkpoint, counted in stats().
    expect(verified.chains.map((c) => [c.sealed, c.findings.map((f) => [f.kind, f.seq])])).toStrictEqual([
      [true, [["missing", 3]]],
    ]);
    expect(full.stats().dropped).toStrictEqual({ queue_full: 1 });

    if (withOther) {
      // The other emitter took both final checkpoints, and the call between them.
      const otherTrail = otherSink.received.flat();
      expect(seqs(otherTrail)).toStrictEqual([
        ["resourceMutation", "p-1", 1],
        ["resourceMutation", "p-2", 2],
        ["checkpoint", undefined, 3],
        ["resourceMutation", "p-in-flight", 4],
        ["checkpoint", undefined, 5],
      ]);
      const report = await verifyChains(otherTrail, { publicKeys: PUBLIC_KEYS, expectSealed: true });
      expect([report.unchained, report.chains.map((c) => [c.sealed, c.findings])]).toStrictEqual([
        0,
        [[true, []]],
      ]);
    }
  });
});
