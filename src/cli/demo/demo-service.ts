import { status } from "@grpc/grpc-js";
import { currentActor } from "../../context/scope.js";
import { asyncService } from "../../server/async-service.js";
import type { DemoTuples, Tuple } from "./demo-tuples.js";
import type { Member, Project } from "./gen/example/v1/projects.js";
import { ProjectServiceService } from "./gen/example/v1/projects.js";

const ROLES = new Set(["viewer", "editor"]);

/**
 * The example ProjectService, kept in memory, as the demo serves it. Creating a project makes the
 * caller its owner and adding a member gives the member a role: both are relationship tuples written
 * through `tuples`, which the authorizer then checks. `idPrefix` (default "p-") keeps project ids of separate runs
 * apart (an OpenFGA store outlives a run).
 */
export function demoProjectService(tuples: DemoTuples, idPrefix = "p-") {
  const projects = new Map<string, Project>();
  const members = new Map<string, Member[]>();
  let lastProject = 0;
  let lastMember = 0;

  const notFound = (what: string) => ({ code: status.NOT_FOUND, details: `no such ${what}` });
  const projectOf = (id: string | undefined): Project => {
    const project = projects.get(id ?? "");
    if (project === undefined) throw notFound("project");
    return project;
  };
  const roleTuple = (m: Pick<Member, "projectId" | "userId" | "role">): Tuple => ({
    user: `user:${m.userId}`,
    relation: m.role,
    object: `project:${m.projectId}`,
  });
  const addMember = async (request: Pick<Member, "projectId" | "userId" | "role">): Promise<Member> => {
    projectOf(request.projectId);
    if (!ROLES.has(request.role))
      throw { code: status.INVALID_ARGUMENT, details: "role must be viewer or editor" };
    const member: Member = { ...request, memberId: ++lastMember };
    await tuples.write([roleTuple(member)]);
    members.set(member.projectId, [...(members.get(member.projectId) ?? []), member]);
    return member;
  };

  return asyncService(ProjectServiceService, {
    async createProject(call) {
      const ownerId = currentActor()?.id ?? "";
      const project: Project = { id: `${idPrefix}${++lastProject}`, name: call.request.name, ownerId };
      await tuples.write([{ user: `user:${ownerId}`, relation: "owner", object: `project:${project.id}` }]);
      projects.set(project.id, project);
      return project;
    },
    async getProject(call) {
      return projectOf(call.request.id);
    },
    async updateProject(call) {
      const project = projectOf(call.request.project?.id);
      project.name = call.request.project?.name ?? project.name;
      return project;
    },
    async deleteProject(call) {
      const project = projectOf(call.request.id);
      const owner = { user: `user:${project.ownerId}`, relation: "owner", object: `project:${project.id}` };
      await tuples.delete([owner, ...(members.get(project.id) ?? []).map(roleTuple)]);
      projects.delete(project.id);
      members.delete(project.id);
      return {};
    },
    addMember: (call) => addMember(call.request),
    async removeMember(call) {
      const list = members.get(call.request.projectId) ?? [];
      const member = list.find((m) => m.memberId === call.request.memberId);
      if (member === undefined) throw notFound("member");
      await tuples.delete([roleTuple(member)]);
      members.set(
        member.projectId,
        list.filter((m) => m !== member),
      );
      return {};
    },
    async archiveProject(call) {
      const project = projectOf(call.request.projectId);
      for (const percent of [50, 100]) call.write({ projectId: project.id, percent });
    },
    async importMembers(call) {
      // Authz checked the caller on the project named by x-project-id, before any message: a message
      // naming another project would change one the caller was never checked on.
      const [authorized] = call.metadata.get("x-project-id");
      let imported = 0;
      for await (const request of call) {
        if (request.projectId !== authorized) {
          throw {
            code: status.INVALID_ARGUMENT,
            details: "every message must name the project given in x-project-id",
          };
        }
        await addMember(request);
        imported++;
      }
      return { projectId: typeof authorized === "string" ? authorized : "", imported };
    },
    async syncMembers(call) {
      // A plain `for await` would destroy the duplex stream when reading ends, and no status could follow.
      for await (const change of call.iterator({ destroyOnReturn: false })) {
        const wanted = change.member;
        const member = (members.get(wanted?.projectId ?? "") ?? []).find(
          (m) => m.memberId === wanted?.memberId,
        );
        const applied = member !== undefined && wanted !== undefined && ROLES.has(wanted.role);
        if (applied) {
          await tuples.delete([roleTuple(member)]);
          member.role = wanted.role;
          await tuples.write([roleTuple(member)]);
        }
        call.write({ memberId: wanted?.memberId ?? 0, applied });
      }
    },
    async listMembers(call) {
      projectOf(call.request.projectId);
      for (const member of members.get(call.request.projectId) ?? []) call.write(member);
    },
  });
}
