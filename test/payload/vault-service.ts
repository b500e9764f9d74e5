/**
 * The fixture VaultService (test/fixtures/payload/payload.proto) for the payload capture tests: its
 * handlers, for ts-proto's and proto-loader's service definitions alike. Imported by the tests and by the
 * child process that serves the same service; both use the generated rules (shapes.ts).
 */
import {
  Server,
  type ServerInterceptor,
  type ServiceDefinition,
  status,
  type UntypedHandleCall,
} from "@grpc/grpc-js";
import { listenOnLoopback, stopServer } from "../helpers/loopback-server.js";
import { SERVICE } from "./shapes.js";

/** What every Secret response holds in its sensitive `value`. */
export const RESPONSE_CANARY = "resp-canary-91bd";

/** The Secret response of a request naming `name`: its sensitive value is a canary. */
export function secretOf(name: unknown, version = 1): { name: string; value: string; version: number } {
  return { name: typeof name === "string" ? name : "", value: RESPONSE_CANARY, version };
}

type Call = {
  request?: { name?: unknown };
  on(event: string, listener: (message?: { name?: unknown }) => void): void;
  write(message: unknown): void;
  end(): void;
};
type Callback = (error: { code: number; details: string } | null, response?: unknown) => void;

/**
 * Handlers by method name. Unary methods fail with INVALID_ARGUMENT for the name "fail"; WatchSecrets
 * sends three secrets; ImportSecrets counts the requests; SyncSecrets answers each request.
 */
const HANDLERS: Record<string, (call: Call, callback: Callback) => void> = {
  PutSecret: unary,
  RotateSecret: unary,
  ReadSecret: unary,
  WatchSecrets(call) {
    for (let version = 1; version <= 3; version++) call.write(secretOf(call.request?.name, version));
    call.end();
  },
  ImportSecrets(call, callback) {
    let imported = 0;
    call.on("data", () => imported++);
    call.on("end", () => callback(null, { imported }));
  },
  SyncSecrets(call) {
    call.on("data", (message) => call.write(secretOf(message?.name)));
    call.on("end", () => call.end());
  },
};

function unary(call: Call, callback: Callback): void {
  const name = call.request?.name;
  if (name === "fail") callback({ code: status.INVALID_ARGUMENT, details: "refused" });
  else callback(null, secretOf(name));
}

/** A VaultService server on 127.0.0.1 with `interceptors`, for ts-proto's or proto-loader's definition. */
export async function startVaultServer(
  definition: ServiceDefinition,
  interceptors: ServerInterceptor[],
): Promise<{ port: number; close(): Promise<void> }> {
  const server = new Server({ interceptors });
  const implementation: Record<string, UntypedHandleCall> = {};
  for (const [key, method] of Object.entries(definition)) {
    const handler = HANDLERS[method.path.slice(SERVICE.length)];
    if (handler !== undefined) implementation[key] = handler as unknown as UntypedHandleCall;
  }
  server.addService(definition, implementation);
  const port = await listenOnLoopback(server);
  return {
    port,
    close: () => stopServer(server),
  };
}
