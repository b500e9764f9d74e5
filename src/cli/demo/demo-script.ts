import { type CallOptions, Metadata, type ServiceError } from "@grpc/grpc-js";
import { statusName } from "../../event/status.js";
import type { DemoIdentity } from "./demo-identity.js";
import type { Member, Project, ProjectServiceClient } from "./gen/example/v1/projects.js";

/** One call the scripted client made, and how it ended. */
export interface ScriptStep {
  caller: string;
  call: string;
  request: string;
  /** Status name, such as "OK" or "PERMISSION_DENIED". */
  status: string;
  /** What came back, for successful calls. */
  result: string;
}

/** No demo call should take long; a hung one must not hang the demo. */
const CALL_TIMEOUT_MS = 10_000;

type Callback<Res> = (error: ServiceError | null, response: Res) => void;

/** One scripted call: who makes it, what it sends (through `send`) and how its answer is shown. */
interface Call<Res> {
  caller: string;
  /** The caller's bearer token; none for a call without credentials. */
  token: string | undefined;
  method: string;
  /** The request, for people. */
  shown: string;
  send(metadata: Metadata, options: Partial<CallOptions>, done: Callback<Res>): unknown;
  describe?(response: Res): string;
}

/**
 * Plays the demo's users against the server: alice (owner) creates, renames and shares a project;
 * bob (viewer) reads it (recorded as a resource.access event) and tries to rename it (denied); a caller without a token and mallory with an
 * expired one are refused (UNAUTHENTICATED); alice removes a member that does not exist (NOT_FOUND,
 * recorded because the rule says `record_on_error`).
 */
export async function runScript(client: ProjectServiceClient, identity: DemoIdentity): Promise<ScriptStep[]> {
  const steps: ScriptStep[] = [];
  async function call<Res>(c: Call<Res>): Promise<Res | undefined> {
    const metadata = new Metadata();
    if (c.token !== undefined) metadata.set("authorization", `Bearer ${c.token}`);
    metadata.set("x-request-id", `demo-${steps.length + 1}`);
    const [error, response] = await new Promise<[ServiceError | null, Res]>((resolve) => {
      c.send(metadata, { deadline: Date.now() + CALL_TIMEOUT_MS }, (e, r) => resolve([e, r]));
    });
    steps.push({
      caller: c.caller,
      call: c.method,
      request: c.shown,
      status: statusName(error?.code ?? 0),
      result: error === null ? (c.describe?.(response) ?? "") : error.details,
    });
    return error === null ? response : undefined;
  }

  const alice = await identity.token("alice", "Alice Owner");
  const bob = await identity.token("bob", "Bob Viewer");
  const expired = await identity.token("mallory", "Mallory", { expired: true });

  const created = await call<Project>({
    caller: "alice",
    token: alice,
    method: "CreateProject",
    shown: 'name "apollo"',
    send: (md, o, done) => client.createProject({ name: "apollo" }, md, o, done),
    describe: (p) => `project ${p.id}`,
  });
  const id = created?.id ?? "p-1";
  const rename = (name: string, md: Metadata, o: Partial<CallOptions>, done: Callback<Project>) =>
    client.updateProject({ project: { id, name, ownerId: "" } }, md, o, done);
  await call<Project>({
    caller: "alice",
    token: alice,
    method: "UpdateProject",
    shown: `${id} name "apollo-2"`,
    send: (md, o, done) => rename("apollo-2", md, o, done),
    describe: (p) => `renamed to ${p.name}`,
  });
  await call<Member>({
    caller: "alice",
    token: alice,
    method: "AddMember",
    shown: `bob as viewer of ${id}`,
    send: (md, o, done) => client.addMember({ projectId: id, userId: "bob", role: "viewer" }, md, o, done),
    describe: (m) => `member ${m.memberId}`,
  });
  await call<Project>({
    caller: "bob",
    token: bob,
    method: "GetProject",
    shown: id,
    send: (md, o, done) => client.getProject({ id }, md, o, done),
    describe: (p) => `read ${p.name}`,
  });
  await call({
    caller: "bob",
    token: bob,
    method: "UpdateProject",
    shown: `${id} name "mine"`,
    send: (md, o, done) => rename("mine", md, o, done),
  });
  await call({
    caller: "(no token)",
    token: undefined,
    method: "DeleteProject",
    shown: id,
    send: (md, o, done) => client.deleteProject({ id }, md, o, done),
  });
  await call({
    caller: "mallory",
    token: expired,
    method: "UpdateProject",
    shown: `${id}, expired token`,
    send: (md, o, done) => rename("pwned", md, o, done),
  });
  await call({
    caller: "alice",
    token: alice,
    method: "RemoveMember",
    shown: `member 99 of ${id}`,
    send: (md, o, done) => client.removeMember({ projectId: id, memberId: 99 }, md, o, done),
  });
  return steps;
}
