// A loopback HTTP proxy in front of the OpenFGA stand-in that loses, delays or replaces answers on a
// plan, for the tests of what the audited tuple writer records when a write's outcome is unknown.
import { once } from "node:events";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * What the proxy does with a request: "forward" it to the stand-in and pass the answer back;
 * "applied-then-hang": forward it, let the stand-in apply it, and never answer; "applied-then-drop":
 * the same, then drop the connection; "applied-then-504": forward it, then answer 504 as a gateway that
 * lost the answer; or answer `{ status, retryAfter, code, message }` itself without forwarding.
 */
export type ProxyStep =
  | "forward"
  | "applied-then-hang"
  | "applied-then-drop"
  | "applied-then-504"
  | { status: number; retryAfter?: string; code?: string; message?: string };

/** The step for the n-th request (from 1), whose path is `path`. */
export type ProxyPlan = (n: number, path: string) => ProxyStep;

/** Starts the proxy in front of `target` (the stand-in's URL); close `server` after the test. */
export async function startOpenFgaProxy(
  target: string,
  plan: ProxyPlan,
): Promise<{ url: string; server: Server }> {
  let n = 0;
  const upstreamUrl = new URL(target);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const step = plan(++n, req.url ?? "");
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (typeof step === "object") {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (step.retryAfter !== undefined) headers["retry-after"] = step.retryAfter;
        res.writeHead(step.status, headers);
        res.end(
          JSON.stringify({ code: step.code ?? "rate_limit_exceeded", message: step.message ?? "slow down" }),
        );
        return;
      }
      const upstream = request(
        {
          host: upstreamUrl.hostname,
          port: upstreamUrl.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on("data", (chunk: Buffer) => body.push(chunk));
          answer.on("end", () => {
            if (step === "applied-then-hang") return; // the write is applied; its answer never comes
            if (step === "applied-then-drop") {
              req.socket.destroy(); // applied; the answer is lost
              return;
            }
            if (step === "applied-then-504") {
              res.writeHead(504, { "content-type": "text/plain" });
              res.end("upstream request timeout");
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      upstream.end(Buffer.concat(chunks));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
