// What docs/testing.md tells users to do, done against a real server on loopback: assert a call's
// whole event with matchers for its volatile fields, and wait for an event recorded after the response.
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { auditRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import {
  ActorType,
  type Authenticator,
  createAuditInterceptors,
  createRecorder,
  EventType,
  MutationType,
} from "../../src/index.js";
import { createMemoryEmitter } from "../../src/testing/index.js";
import { holdDeadline } from "../helpers/held-deadline.js";
import { type ProjectServer, startProjectServer, unary } from "../helpers/project-server.js";

/** Takes the caller's id from an `x-user` header: the tests' stand-in for a real authenticator. */
const byHeader: Authenticator = {
  method: "test",
  authenticate(metadata) {
    const [id] = metadata.get("x-user");
    return typeof id === "string" ? { kind: "authenticated", actor: { id } } : { kind: "absent" };
  },
};

const memory = createMemoryEmitter();
const recorder = createRecorder({ service: "projects", emitters: [memory] });
let server: ProjectServer;
beforeAll(async () => {
  server = await startProjectServer(
    createAuditInterceptors({ recorder, rules: [auditRules], authn: { authenticators: [byHeader] } }),
  );
});
afterAll(async () => {
  await server.close();
  await recorder.close();
});
beforeEach(() => memory.clear());

const alice = () => {
  const metadata = new Metadata();
  metadata.set("x-user", "alice");
  return metadata;
};

it("asserts a call's whole event, with matchers for the fields that change from run to run", async () => {
  const [error, project] = await unary(
    server.client.createProject.bind(server.client),
    { name: "apollo" },
    alice(),
  );
  expect(error).toBeNull();

  const event = await memory.waitFor({ eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION });
  expect(event).toStrictEqual({
    eventId: expect.any(String),
    eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION,
    schemaVersion: 2,
    occurredAt: expect.any(Date),
    service: "projects",
    operation: "/example.v1.ProjectService/CreateProject",
    actor: {
      id: "alice",
      type: ActorType.ACTOR_TYPE_USER,
      displayName: "",
      email: "",
      subject: "",
      clientId: "",
      realm: "",
    },
    target: { type: "project", id: project?.id, name: "" },
    result: { success: true, code: "OK", message: "" },
    traceId: "",
    spanId: "",
    requestId: expect.any(String),
    peer: expect.any(String),
    duration: expect.anything(),
    userAgent: expect.any(String),
    chain: expect.anything(),
    payload: undefined,
    attributes: {},
    instance: "",
    detail: {
      $case: "resourceMutation",
      value: {
        mutation: MutationType.MUTATION_TYPE_CREATE,
        resourceType: "project",
        resourceId: project?.id,
      },
    },
  });
});

it("waits for an event recorded after the response, when the deadline ended the call first", async () => {
  // The page's 100 ms deadline, on a loaded machine, passed before the server read the call: the
  // handler never ran and recorded nothing. A deadline the server reads as the client's, HELD_DEADLINE_MS
  // away (below the "slow" handler's 1.5 s), makes the handler run and end after the client's deadline.
  const clock = holdDeadline();
  try {
    const [error] = await unary(server.client.createProject.bind(server.client), { name: "slow" }, alice(), {
      deadline: clock.deadline,
    });
    clock.passed();
    expect(error?.code).toBe(status.DEADLINE_EXCEEDED);
    const match = {
      eventType: EventType.EVENT_TYPE_RESOURCE_MUTATION,
      operation: "/example.v1.ProjectService/CreateProject",
    };
    expect(memory.filter(match)).toStrictEqual([]);

    const event = await memory.waitFor(match, { timeoutMs: 5000 });
    expect(event.result?.message).toContain("DEADLINE_EXCEEDED");
  } finally {
    clock.release();
  }
});
