/**
 * The example service of `grpc-audit demo`, for tests and experiments (`grpc-audit/demo`):
 * `example.v1.ProjectService` (proto/example/v1/projects.proto, shipped in the package's proto/)
 * kept in memory, its generated service definition, client and messages (ts-proto), its rule tables
 * (protoc-gen-grpc-audit), and an in-process authorizer over the relationship tuples the service
 * writes. Not the `grpc-audit demo` command, and not for production: every state is in memory.
 *
 * @example
 * ```ts
 * import { createAuditInterceptors, createRecorder } from "grpc-audit";
 * import { auditRules, authzRules, createInProcessTuples, demoProjectService, ProjectServiceService } from "grpc-audit/demo";
 *
 * const recorder = createRecorder({ service: "example.projects", emitters: [emitter] });
 * const tuples = createInProcessTuples(recorder);
 * const server = new Server({
 *   interceptors: createAuditInterceptors({
 *     recorder,
 *     rules: [auditRules],
 *     authn: { authenticators: [yourAuthenticator] },
 *     authz: { authorizer: tuples.authorizer, rules: [authzRules], missingRule: "allow" },
 *   }),
 * });
 * server.addService(ProjectServiceService, demoProjectService(tuples));
 * ```
 */
export { demoProjectService } from "./demo-service.js";
export { createInProcessTuples, type DemoTuples, type Tuple } from "./demo-tuples.js";
export {
  AddMemberRequest,
  ArchiveProgress,
  ArchiveProjectRequest,
  CreateProjectRequest,
  DeleteProjectRequest,
  DeleteProjectResponse,
  GetProjectRequest,
  ImportMembersResponse,
  ListMembersRequest,
  Member,
  MemberChange,
  MemberChangeResult,
  Project,
  ProjectServiceClient,
  type ProjectServiceServer,
  ProjectServiceService,
  RemoveMemberRequest,
  RemoveMemberResponse,
  UpdateProjectRequest,
} from "./gen/example/v1/projects.js";
export { auditRules, authzRules } from "./gen/example/v1/projects_audit.js";
