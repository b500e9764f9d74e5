// One benchmark server process: serves example.v1.ProjectService/UpdateProject with the interceptor
// variant named in argv[2], and reports its CPU usage to the orchestrator over IPC.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { ProjectServiceService, type UpdateProjectRequest } from "../../src/gen/example/v1/projects.js";
import { auditRules } from "../../src/gen/example/v1/projects_audit.js";
import { createLogEmitter, createNoopEmitter, createRecorder, type Emitter } from "../../src/index.js";
import { createAuditInterceptors } from "../../src/interceptors/audit-interceptors.js";

export type Variant = "baseline" | "pass-through" | "audit+noop" | "audit+log";

const variant = process.argv[2] as Variant;

function audited(emitter: Emitter): ServerInterceptor[] {
  return createAuditInterceptors({
    recorder: createRecorder({ service: "bench", emitters: [emitter] }),
    rules: auditRules,
  });
}

function interceptorsFor(name: Variant): ServerInterceptor[] {
  switch (name) {
    case "baseline":
      return [];
    case "pass-through":
      return [(_method, call) => new ServerInterceptingCall(call)];
    case "audit+noop":
      return audited(createNoopEmitter());
    case "audit+log": {
      const file = join(mkdtempSync(join(tmpdir(), "grpc-audit-bench-")), "audit.ndjson");
      return audited(createLogEmitter({ destination: file }));
    }
  }
}

const server = new Server({ interceptors: interceptorsFor(variant) });
server.addService(ProjectServiceService, {
  updateProject(call: { request: UpdateProjectRequest }, callback: (error: null, response: unknown) => void) {
    callback(null, call.request.project);
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
);

let mark = process.cpuUsage();
process.on("message", (message) => {
  if (message === "cpu-start") {
    mark = process.cpuUsage();
    process.send?.({ cpuStarted: true });
  } else if (message === "cpu-stop") {
    const used = process.cpuUsage(mark);
    process.send?.({ cpuUs: used.user + used.system });
  } else if (message === "exit") {
    server.forceShutdown();
    process.exit(0);
  }
});
process.send?.({ port });
