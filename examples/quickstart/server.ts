// The quickstart's server: NoteService behind grpc-audit's interceptor chain. README.md shows this file.
import { Server, ServerCredentials, status } from "@grpc/grpc-js";
import {
  type Authorizer,
  asyncService,
  type CheckRequest,
  createAuditInterceptors,
  createJwtAuthenticator,
  createRecorder,
  currentActor,
  type Decision,
} from "grpc-audit";
import type { Logger } from "pino";
import { NoteServiceService } from "./gen/notes/v1/notes.js";
import { auditRules, authzRules } from "./gen/notes/v1/notes_audit.js";

/** A running quickstart server. */
export interface NotesServer {
  port: number;
  /** Stops the server, then writes out every event recorded. */
  close(): Promise<void>;
}

/** Starts NoteService on 127.0.0.1; events go to `logger` as pino JSON lines. */
export async function startNotesServer(logger: Logger, jwtSecret: Uint8Array): Promise<NotesServer> {
  const recorder = createRecorder({ service: "notes", emitters: [{ kind: "log", logger }] });
  const jwt = createJwtAuthenticator({
    key: jwtSecret, // or jwksUrl: your identity provider's key set
    issuer: "https://id.example.com/",
    audience: "notes-api",
    algorithms: ["HS256"],
  });
  const owners = new Map<string, string>(); // note:<id> → user:<id>; OpenFGA's tuples in production
  const server = new Server({
    interceptors: createAuditInterceptors({
      recorder,
      rules: [auditRules],
      authn: { authenticators: [jwt] },
      authz: { authorizer: ownerAuthorizer(owners), rules: [authzRules] },
    }),
  });
  let lastId = 0;
  server.addService(
    NoteServiceService,
    asyncService(NoteServiceService, {
      async createNote() {
        const id = `n-${++lastId}`;
        owners.set(`note:${id}`, `user:${currentActor()?.id}`);
        return { id };
      },
      async deleteNote(call) {
        if (!owners.delete(`note:${call.request.id}`))
          throw { code: status.NOT_FOUND, details: "no such note" };
        return {};
      },
    }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    port,
    async close() {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await recorder.close();
    },
  };
}

/** Allows "owner" of a note to the user who created it. In production: createOpenFgaAuthorizer. */
function ownerAuthorizer(owners: Map<string, string>): Authorizer {
  const check = async ({ user, relation, object }: CheckRequest): Promise<Decision> => {
    const allowed = relation === "owner" && owners.get(object) === user;
    return { kind: allowed ? "allowed" : "denied", cacheHit: false };
  };
  return { check, batchCheck: (requests) => Promise.all(requests.map((request) => check(request))) };
}
