import { setTimeout as sleep } from "node:timers/promises";
import {
  type CallOptions,
  credentials,
  type Metadata,
  Server,
  type ServerInterceptor,
  type ServerWritableStream,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import {
  type ArchiveProgress,
  type ArchiveProjectRequest,
  type Member,
  type Project,
  ProjectServiceClient,
  ProjectServiceService,
} from "../../src/cli/demo/gen/example/v1/projects.js";
import { authzRules } from "../../src/cli/demo/gen/example/v1/projects_audit.js";
import { type AuditScope, currentAuditScope } from "../../src/context/scope.js";
import type { AuthzRule, AuthzRuleTable } from "../../src/rules/authz-rule.js";
import { asyncService } from "../../src/server/async-service.js";
import { listenOnLoopback, stopServer } from "./loopback-server.js";

/** A running example ProjectService on 127.0.0.1 and a client connected to it. */
export interface ProjectServer {
  client: ProjectServiceClient;
  port: number;
  /** The audit scope each handler saw, in call order (undefined when it saw none). */
  seenScopes: (AuditScope | undefined)[];
  close(): Promise<void>;
}

/**
 * Project names that make CreateProject misbehave, so tests can drive every way a call ends:
 * "exists" → ALREADY_EXISTS, "crash" → a plain Error (INTERNAL), "slow" → answers after 1.5 s,
 * "leaky" → FAILED_PRECONDITION whose details echo a password ("db password=hunter2 refused"),
 * "unserializable" → a response grpc-js cannot serialize.
 * UpdateProject of project "missing" → NOT_FOUND.
 * ArchiveProject of "hang" never ends until the client cancels; of "boom" it rejects after one message.
 */
export async function startProjectServer(interceptors: ServerInterceptor[]): Promise<ProjectServer> {
  const server = new Server({ interceptors });
  const seenScopes: (AuditScope | undefined)[] = [];
  let nextProject = 0;
  let nextMember = 41;
  const see = () => seenScopes.push(currentAuditScope());

  server.addService(
    ProjectServiceService,
    asyncService(ProjectServiceService, {
      async createProject(call) {
        see();
        const { name } = call.request;
        if (name === "exists") throw { code: status.ALREADY_EXISTS, details: "project exists" };
        if (name === "crash") throw new Error("db password=hunter2 refused");
        if (name === "leaky")
          throw { code: status.FAILED_PRECONDITION, details: "db password=hunter2 refused" };
        if (name === "slow") await sleep(1500);
        // A handler bug: grpc-js cannot serialize this response and ends the call with INTERNAL itself.
        if (name === "unserializable") return { id: "p-0", name: unserializable as string, ownerId: "" };
        return { id: `p-${++nextProject}`, name, ownerId: currentAuditScope()?.actor?.id ?? "" };
      },
      async getProject(call) {
        see();
        return { id: call.request.id, name: "read", ownerId: "" };
      },
      async updateProject(call) {
        see();
        if (call.request.project?.id === "missing")
          throw { code: status.NOT_FOUND, details: "no such project" };
        await sleep(1); // the scope must survive awaits in the handler
        see();
        return call.request.project ?? { id: "", name: "", ownerId: "" };
      },
      async deleteProject() {
        see();
        return {};
      },
      async addMember(call) {
        see();
        return {
          memberId: ++nextMember,
          projectId: call.request.projectId,
          userId: call.request.userId,
          role: call.request.role,
        };
      },
      async removeMember(call) {
        see();
        if (call.request.memberId === 0) throw { code: status.NOT_FOUND, details: "no such member" };
        return {};
      },
      async archiveProject(call) {
        see();
        if (call.request.projectId === "boom") {
          await writeProgress(call, 10);
          throw { code: status.FAILED_PRECONDITION, details: "project is locked" };
        }
        if (call.request.projectId === "hang") {
          await new Promise((resolve) => call.once("cancelled", resolve));
          return;
        }
        await writeProgress(call, 50);
        await writeProgress(call, 100);
      },
      async importMembers(call) {
        const added: string[] = [];
        let projectId = "";
        for await (const message of call) {
          see();
          projectId ||= message.projectId;
          added.push(message.userId);
        }
        return { projectId, imported: added.length };
      },
      async syncMembers(call) {
        // A plain `for await` would destroy the duplex stream when reading ends, and no status could follow.
        for await (const change of call.iterator({ destroyOnReturn: false })) {
          see();
          const member: Member | undefined = change.member;
          call.write({ memberId: member?.memberId ?? 0, applied: member !== undefined });
        }
      },
      async listMembers() {
        see();
      },
    }),
  );

  const port = await listenOnLoopback(server);
  const client = new ProjectServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());

  return {
    client,
    port,
    seenScopes,
    async close() {
      client.close();
      await stopServer(server);
    },
  };
}

function writeProgress(call: ServerWritableStream<ArchiveProjectRequest, ArchiveProgress>, percent: number) {
  return new Promise<void>((resolve) =>
    call.write({ projectId: call.request.projectId, percent }, () => resolve()),
  );
}

/** A value the response encoder turns to text, and cannot. */
const unserializable: unknown = {
  toString() {
    throw new Error("not text");
  },
};

/** Calls a unary client method (bound to its client) and resolves to [error, response]. */
export function unary<Req, Res>(
  method: (
    request: Req,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (error: ServiceError | null, response: Res) => void,
  ) => unknown,
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions> = {},
): Promise<[ServiceError | null, Res | undefined]> {
  return new Promise((resolve) => {
    method(request, metadata, options, (error, response) => resolve([error, error ? undefined : response]));
  });
}

export type { Project };

/** The four gRPC call kinds, in the order the example service's audited methods show them. */
export type CallKind = "unary" | "server_streaming" | "client_streaming" | "bidi_streaming";
export const CALL_KINDS: readonly CallKind[] = [
  "unary",
  "server_streaming",
  "client_streaming",
  "bidi_streaming",
];

/** The example service's audited method of each call kind, the one `callOfKind` calls. */
export const METHOD_OF_KIND: Readonly<Record<CallKind, string>> = {
  unary: "/example.v1.ProjectService/DeleteProject",
  server_streaming: "/example.v1.ProjectService/ArchiveProject",
  client_streaming: "/example.v1.ProjectService/ImportMembers",
  bidi_streaming: "/example.v1.ProjectService/SyncMembers",
};

/**
 * The example's authz rules, except that SyncMembers reads the project from metadata (as
 * ImportMembers does) where the example checks a fixed object: every call kind can then be allowed,
 * denied or given a missing object id by the caller.
 */
export const AUTHZ_RULES_FROM_METADATA: AuthzRuleTable = {
  ...authzRules,
  [METHOD_OF_KIND.bidi_streaming]: {
    method: METHOD_OF_KIND.bidi_streaming,
    kind: "bidi_streaming",
    public: false,
    relation: "admin",
    objectType: "project",
    objectIdSource: "metadata:x-project-id",
    objectId(_request, metadata) {
      const [value] = metadata.get("x-project-id");
      return typeof value === "string" ? value : "";
    },
  } satisfies AuthzRule,
};

/** What a client saw of one call: the response headers (undefined when none came) and the status. */
export interface SeenCall {
  headers: Metadata | undefined;
  code: status;
  trailers: Metadata;
}

/**
 * Makes one call of `kind` to the audited method of that kind (DeleteProject, ArchiveProject,
 * ImportMembers, SyncMembers), `objectId` as the project the request names, and resolves once the
 * client has its status.
 */
export function callOfKind(
  client: ProjectServiceClient,
  kind: CallKind,
  metadata: Metadata,
  objectId = "p-1",
): Promise<SeenCall> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    const watch = (call: NodeJS.EventEmitter) => {
      call.on("metadata", (received: Metadata) => {
        headers = received;
      });
      call.on("data", () => {});
      call.on("error", () => {}); // the status says how it ended
      call.on("status", (end: { code: status; metadata: Metadata }) =>
        resolve({ headers, code: end.code, trailers: end.metadata }),
      );
    };
    if (kind === "unary") {
      watch(client.deleteProject({ id: objectId }, metadata, () => {}));
    } else if (kind === "server_streaming") {
      watch(client.archiveProject({ projectId: objectId }, metadata));
    } else if (kind === "client_streaming") {
      const stream = client.importMembers(metadata, () => {});
      watch(stream);
      stream.write({ projectId: "p-1", userId: "u-1", role: "viewer" });
      stream.end();
    } else {
      const stream = client.syncMembers(metadata);
      watch(stream);
      stream.write({ member: { memberId: 7, projectId: "p-1", userId: "u-1", role: "viewer" } });
      stream.end();
    }
  });
}
