import { setTimeout as sleep } from "node:timers/promises";
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  createAuditScope,
  currentActor,
  currentAuditScope,
  DEADLINE_SLOT,
  HANDLER_SLOT,
  type MetadataReader,
  runInAuditScope,
} from "../../src/context/scope.js";
import { ActorType } from "../../src/gen/grpcaudit/v1/event.js";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function metadata(entries: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [key, value] of Object.entries(entries)) md.set(key, value);
  return md;
}

/** Metadata as a hostile peer could deliver it: values grpc-js's own `set` would refuse. */
function rawMetadata(entries: Record<string, ReadonlyArray<string | Buffer>>): MetadataReader {
  return { get: (key) => entries[key] ?? [] };
}

describe("createAuditScope", () => {
  it("takes operation, peer, trace ids, request id and user agent from the call", () => {
    const scope = createAuditScope({
      operation: "/example.v1.ProjectService/GetProject",
      metadata: metadata({
        traceparent: TRACEPARENT,
        "x-request-id": "req-42",
        "user-agent": "grpc-node-js/1.14.7",
      }),
      peer: "127.0.0.1:5000",
      startedAtMs: 12,
      deadlineAtMs: 5012,
    });
    expect(scope).toStrictEqual({
      operation: "/example.v1.ProjectService/GetProject",
      peer: "127.0.0.1:5000",
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      requestId: "req-42",
      userAgent: "grpc-node-js/1.14.7",
      startedAtMs: 12,
      actor: undefined,
      [HANDLER_SLOT]: undefined,
      [DEADLINE_SLOT]: 5012,
    });
  });

  it("generates a request id when the call has none", () => {
    const scope = createAuditScope({
      operation: "/a.B/C",
      metadata: new Metadata(),
      generateRequestId: () => "gen-1",
    });
    expect(scope.requestId).toBe("gen-1");
    const generated = createAuditScope({ operation: "/a.B/C" }).requestId;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(createAuditScope({ operation: "/a.B/C" }).requestId).not.toBe(generated);
  });

  it.each([
    ["oversized", "r".repeat(129)],
    ["non-ASCII", "réq-1"],
    ["containing spaces", "req 1"],
    ["containing control characters", "req\n1"],
    ["empty", ""],
  ])("replaces an %s request id and leaves trace ids empty for a malformed traceparent", (_name, value) => {
    const scope = createAuditScope({
      operation: "/a.B/C",
      metadata: rawMetadata({ "x-request-id": [value], traceparent: ["00-zz-zz-01"] }),
      generateRequestId: () => "gen-2",
    });
    expect(scope.requestId).toBe("gen-2");
    expect(scope.traceId).toBe("");
    expect(scope.spanId).toBe("");
  });

  it("keeps a request id of exactly 128 visible characters and uses the first of repeated values", () => {
    const long = "r".repeat(128);
    expect(
      createAuditScope({ operation: "/a.B/C", metadata: rawMetadata({ "x-request-id": [long, "b"] }) })
        .requestId,
    ).toBe(long);
  });

  it("keeps the first user agent as sent, and none when the call has none", () => {
    const long = "u".repeat(10_000); // cut by the Recorder, not here
    expect(
      createAuditScope({ operation: "/a.B/C", metadata: rawMetadata({ "user-agent": [long, "b"] }) })
        .userAgent,
    ).toBe(long);
    expect(createAuditScope({ operation: "/a.B/C", metadata: new Metadata() }).userAgent).toBe("");
    expect(createAuditScope({ operation: "/a.B/C" }).userAgent).toBe("");
  });

  it("ignores binary values and metadata objects that throw", () => {
    const binary = createAuditScope({
      operation: "/a.B/C",
      metadata: rawMetadata({
        "x-request-id": [Buffer.from("abc")],
        traceparent: [Buffer.from(TRACEPARENT)],
        "user-agent": [Buffer.from("grpc-node-js/1.14.7")],
      }),
      generateRequestId: () => "gen-3",
    });
    expect([binary.requestId, binary.traceId, binary.userAgent]).toStrictEqual(["gen-3", "", ""]);
    const throwing: MetadataReader = {
      get: () => {
        throw new Error("broken");
      },
    };
    const broken = createAuditScope({
      operation: "/a.B/C",
      metadata: throwing,
      generateRequestId: () => "gen-4",
    });
    expect([broken.requestId, broken.userAgent]).toStrictEqual(["gen-4", ""]);
  });
});

describe("runInAuditScope", () => {
  it("makes the scope current in synchronous code, after awaits and in timers, and nowhere else", async () => {
    const scope = createAuditScope({ operation: "/a.B/C" });
    const seen = await runInAuditScope(scope, async () => {
      const sync = currentAuditScope();
      await sleep(1);
      const afterAwait = currentAuditScope();
      const inTimer = await new Promise((resolve) => setTimeout(() => resolve(currentAuditScope()), 1));
      return [sync, afterAwait, inTimer];
    });
    expect(seen).toStrictEqual([scope, scope, scope]);
    expect(currentAuditScope()).toBeUndefined();
  });

  it("keeps 50 concurrent scopes apart, each seeing the actor set inside it", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        runInAuditScope(createAuditScope({ operation: `/a.B/C${i}` }), async () => {
          const scope = currentAuditScope();
          if (scope === undefined) throw new Error("no scope");
          scope.actor = {
            id: `user-${i}`,
            type: ActorType.ACTOR_TYPE_USER,
            displayName: "",
            email: "",
            subject: "",
            clientId: "",
            realm: "",
          };
          await sleep(Math.random() * 5);
          return `${currentAuditScope()?.operation} ${currentActor()?.id}`;
        }),
      ),
    );
    expect(results).toStrictEqual(Array.from({ length: 50 }, (_, i) => `/a.B/C${i} user-${i}`));
  });
});
