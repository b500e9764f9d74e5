/**
 * A client-streaming call over plain HTTP/2 that sends one message with a `grpc-timeout` and then
 * neither ends its messages nor resets the stream: only the server's deadline timer ends it. A grpc-js
 * client at its deadline first ends its messages, racing the server's timer (the handler's loop may
 * then end as at a half-close); this one leaves the server's timer the only way out.
 */
import http2 from "node:http2";

/** Sends `message` (encoded) to `path` on 127.0.0.1:`port`; resolves to the grpc-status the server sent. */
export async function leftOpenCall(
  port: number,
  path: string,
  message: Uint8Array,
  timeoutMs: number,
  requestId: string,
): Promise<number> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const request = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    "grpc-timeout": `${timeoutMs}m`,
    "x-request-id": requestId,
  });
  try {
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    request.write(frame);
    // The server's status ends its side; this side stays open until it is read (then reset, below).
    return await new Promise<number>((resolve) => {
      const read = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] !== undefined) resolve(Number(headers["grpc-status"]));
      };
      request.on("response", read);
      request.on("trailers", read);
      request.on("data", () => {});
      request.on("error", () => {});
      request.on("close", () => resolve(Number.NaN));
    });
  } finally {
    request.close();
    session.close();
  }
}
