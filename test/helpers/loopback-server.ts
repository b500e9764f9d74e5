// grpc-js binds and shuts down through callbacks; tests await them, so the wrapping lives here once.
import { type Server, ServerCredentials } from "@grpc/grpc-js";

/** Binds `server` to a free port on 127.0.0.1, without TLS; resolves to the port, rejects with the bind error. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
}

/** Shuts `server` down gracefully (`tryShutdown`): resolves once the calls in flight ended. */
export function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.tryShutdown(() => resolve()));
}
