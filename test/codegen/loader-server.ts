/**
 * The example ProjectService served from one proto file by different message loaders, so a test can
 * run the same generated rule tables against each: ts-proto's generated service (camelCase properties,
 * 64-bit integers as numbers) or `@grpc/proto-loader` with the given options (`keepCase: true` gives
 * snake_case properties; `longs` picks Long objects, strings or numbers). Handlers answer in the
 * loader's own property names, as a real service built on that loader would.
 */
import { join } from "node:path";
import {
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Server,
  type ServerInterceptor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";
import { ProjectServiceService } from "../../src/cli/demo/gen/example/v1/projects.js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { REPO } from "./helpers.js";

/** Where the messages come from: ts-proto's generated code, or proto-loader with these options. */
export type Loader = { kind: "ts-proto" } | { kind: "proto-loader"; options: Options };

/** Member id every handler answers AddMember with: above 2^32, so a Long uses both of its halves. */
export const NEW_MEMBER_ID = "12345678901";

type Message = Record<string, unknown>;

/** Starts the service on 127.0.0.1:0 with `interceptors`; resolves to its port and a close function. */
export async function startLoaderServer(
  loader: Loader,
  interceptors: ServerInterceptor[],
): Promise<{ port: number; close(): Promise<void> }> {
  const snake = loader.kind === "proto-loader" && loader.options.keepCase === true;
  const key = (camel: string, snakeName: string) => (snake ? snakeName : camel);
  const server = new Server({ interceptors });
  server.addService(serviceOf(loader), handlers(key, loader.kind === "ts-proto"));
  const port = await listenOnLoopback(server);
  return { port, close: () => stopServer(server) };
}

function serviceOf(loader: Loader): ServiceDefinition {
  if (loader.kind === "ts-proto") return ProjectServiceService;
  const definition = loadSync(join(REPO, "proto/example/v1/projects.proto"), {
    ...loader.options,
    includeDirs: [join(REPO, "proto")],
  });
  const service = definition["example.v1.ProjectService"];
  if (service === undefined || "format" in service) throw new Error("no example.v1.ProjectService");
  return service as ServiceDefinition;
}

/** The audited methods; `key` names a property as the loader does, `numbers` says 64-bit ints are numbers. */
function handlers(
  key: (camel: string, snake: string) => string,
  numbers: boolean,
): UntypedServiceImplementation {
  const projectId = key("projectId", "project_id");
  const memberId = key("memberId", "member_id");
  const createProject: handleUnaryCall<Message, Message> = (call, callback) =>
    callback(null, { id: "p-new", name: call.request.name, [key("ownerId", "owner_id")]: "" });
  const updateProject: handleUnaryCall<Message, Message> = (call, callback) =>
    callback(null, call.request.project as Message);
  const deleteProject: handleUnaryCall<Message, Message> = (_call, callback) => callback(null, {});
  const addMember: handleUnaryCall<Message, Message> = (call, callback) =>
    callback(null, {
      [memberId]: numbers ? Number(NEW_MEMBER_ID) : NEW_MEMBER_ID,
      [projectId]: call.request[projectId],
    });
  const removeMember: handleUnaryCall<Message, Message> = (_call, callback) => callback(null, {});
  const archiveProject: handleServerStreamingCall<Message, Message> = (call) => {
    call.write({ [projectId]: call.request[projectId], percent: 100 });
    call.end();
  };
  const importMembers: handleClientStreamingCall<Message, Message> = (call, callback) => {
    let first = "";
    call.on("data", (message: Message) => {
      first ||= String(message[projectId]);
    });
    call.on("end", () => callback(null, { [projectId]: first, imported: 1 }));
  };
  const syncMembers: handleBidiStreamingCall<Message, Message> = (call) => {
    call.on("data", (change: Message) => {
      const member = change.member as Message | undefined;
      call.write({ [memberId]: member?.[memberId], applied: true });
    });
    call.on("end", () => call.end());
  };
  return {
    createProject,
    updateProject,
    deleteProject,
    addMember,
    removeMember,
    archiveProject,
    importMembers,
    syncMembers,
  };
}
