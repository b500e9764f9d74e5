/**
 * A loopback TCP proxy that delays what it forwards by `delayMs` each way, as a server on another
 * host would: replies come a round trip after the request left, not at once.
 */
import net from "node:net";

export interface DistantProxy {
  /** The port clients connect to on 127.0.0.1. */
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1:0 forwarding to 127.0.0.1:`targetPort` after `delayMs`. */
export async function startDistantProxy(targetPort: number, delayMs: number): Promise<DistantProxy> {
  const sockets = new Set<net.Socket>();
  const forward = (from: net.Socket, to: net.Socket) => {
    sockets.add(from);
    from.on("error", () => {}); // either side ending is seen as "close"
    from.on("close", () => {
      sockets.delete(from);
      setTimeout(() => to.destroy(), delayMs);
    });
    // Timers of one duration run in the order they were set: the stream stays in order.
    from.on("data", (chunk: Buffer) => setTimeout(() => to.destroyed || to.write(chunk), delayMs));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
