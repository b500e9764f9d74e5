/**
 * A loopback TCP proxy whose path can go silent: `freeze()` stops forwarding in both directions
 * without closing a socket (as a cut network path with no TCP reset looks: writes succeed, nothing
 * arrives), and holds what comes meanwhile, new connections and closes too; `thaw()` delivers what
 * was held and forwards again, as TCP would once the path is back; `thaw({ loseCloses: true })` drops
 * the held closes instead (a peer gave up resending its FIN before the path came back: the other
 * side's socket stays open until `close()`). `freezeAfter(match)` goes silent
 * right after forwarding the next client chunk that `match`es (a statement sent, its data lost);
 * `reset()` ends every connection at once with a TCP reset (a server that restarted); `end()` closes
 * every connection at once, without a reset and without a word from the server.
 */
import net from "node:net";

export interface SilentProxy {
  /** The port clients connect to on 127.0.0.1. */
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  freeze(): void;
  /** Freezes right after forwarding the next chunk a client sends that `match` is true of. */
  freezeAfter(match: (chunk: Buffer) => boolean): void;
  /** Forwards again, delivering what was held; with `loseCloses`, the closes held are dropped. */
  thaw(options?: { loseCloses?: boolean }): void;
  /** Ends every connection through the proxy, both sides, with a TCP reset. */
  reset(): void;
  /** Closes every connection through the proxy, both sides (a FIN, no reset). */
  end(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1:0 forwarding to 127.0.0.1:`targetPort`; `frozen` starts it frozen. */
export async function startSilentProxy(targetPort: number, frozen = false): Promise<SilentProxy> {
  const sockets = new Set<net.Socket>();
  // A null chunk is a close: a cut path loses the FIN as it loses data.
  const held: { to: net.Socket; chunk: Buffer | null }[] = [];
  let isFrozen = frozen;
  let freezeOn: ((chunk: Buffer) => boolean) | undefined;
  let accepted = 0;
  const forward = (from: net.Socket, to: net.Socket, fromClient: boolean) => {
    sockets.add(from);
    from.on("error", () => {}); // either side ending is seen as "close"
    from.on("close", () => {
      sockets.delete(from);
      if (isFrozen) held.push({ to, chunk: null });
      else to.destroy();
    });
    from.on("data", (chunk: Buffer) => {
      if (isFrozen) held.push({ to, chunk });
      else to.write(chunk);
      if (fromClient && freezeOn?.(chunk) === true) {
        freezeOn = undefined;
        isFrozen = true;
      }
    });
  };
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort });
    forward(client, upstream, true);
    forward(upstream, client, false);
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
    freezeAfter(match) {
      freezeOn = match;
    },
    thaw(options = {}) {
      isFrozen = false;
      for (const { to, chunk } of held.splice(0)) {
        if (to.destroyed) continue;
        if (chunk === null) {
          if (options.loseCloses !== true) to.destroy();
        } else to.write(chunk);
      }
    },
    reset() {
      for (const socket of sockets) socket.resetAndDestroy();
    },
    end() {
      for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
