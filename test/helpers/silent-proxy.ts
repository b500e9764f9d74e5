/**
 * A loopback TCP proxy whose path can go silent: `freeze()` stops forwarding in both directions
 * without closing a socket (as a cut network path with no TCP reset looks: writes succeed, nothing
 * arrives), and holds what comes meanwhile, new connections too; `thaw()` delivers what was held and
 * forwards again, as TCP would once the path is back.
 */
import net from "node:net";

export interface SilentProxy {
  /** The port clients connect to on 127.0.0.1. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1:0 forwarding to 127.0.0.1:`targetPort`; `frozen` starts it frozen. */
export async function startSilentProxy(targetPort: number, frozen = false): Promise<SilentProxy> {
  const sockets = new Set<net.Socket>();
  const held: { to: net.Socket; chunk: Buffer }[] = [];
  let isFrozen = frozen;
  let accepted = 0;
  const forward = (from: net.Socket, to: net.Socket) => {
    sockets.add(from);
    from.on("error", () => {}); // either side ending is seen as "close"
    from.on("close", () => {
      sockets.delete(from);
      to.destroy();
    });
    from.on("data", (chunk: Buffer) => {
      if (isFrozen) held.push({ to, chunk });
      else to.write(chunk);
    });
  };
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    get accepted() {
      return accepted;
    },
    freeze() {
      isFrozen = true;
    },
    thaw() {
      isFrozen = false;
      for (const { to, chunk } of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
