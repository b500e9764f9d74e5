/**
 * Calls of any kind to a service definition over a plain grpc-js Client, for the payload capture
 * tests: the requests are serialized and the responses deserialized by the definition (ts-proto's).
 */
import { type Client, type ServiceDefinition, type ServiceError, status } from "@grpc/grpc-js";

/** What came back: the responses in order and the final status code. */
export interface CallResult {
  responses: unknown[];
  code: number;
}

/** Calls `method` (the definition's key, e.g. "putSecret") with `requests`, whatever its kind. */
export function call(
  client: Client,
  definition: ServiceDefinition,
  method: string,
  requests: readonly unknown[],
): Promise<CallResult> {
  const def = definition[method];
  if (def === undefined) throw new Error(`no method ${method}`);
  const { path, requestSerialize, responseDeserialize } = def;
  const responses: unknown[] = [];
  return new Promise((resolve) => {
    const done = (error: ServiceError | null, response?: unknown) => {
      if (response !== undefined) responses.push(response);
      resolve({ responses, code: error?.code ?? status.OK });
    };
    if (!def.requestStream && !def.responseStream) {
      client.makeUnaryRequest(path, requestSerialize, responseDeserialize, requests[0], done);
      return;
    }
    if (def.requestStream && !def.responseStream) {
      const stream = client.makeClientStreamRequest(path, requestSerialize, responseDeserialize, done);
      for (const request of requests) stream.write(request);
      stream.end();
      return;
    }
    const stream = def.requestStream
      ? client.makeBidiStreamRequest(path, requestSerialize, responseDeserialize)
      : client.makeServerStreamRequest(path, requestSerialize, responseDeserialize, requests[0]);
    stream.on("data", (response: unknown) => responses.push(response));
    // Done at the status, and for OK also at the end of the responses, whichever comes last.
    let code: number | undefined;
    let ended = false;
    const settle = () => {
      if (code !== undefined && (ended || code !== status.OK)) resolve({ responses, code });
    };
    stream.on("end", () => {
      ended = true;
      settle();
    });
    stream.on("status", (end: { code: number }) => {
      code = end.code;
      settle();
    });
    stream.on("error", () => {}); // a failed status is reported by "status" too
    if (def.requestStream && "write" in stream && "end" in stream) {
      const writable = stream as unknown as { write(message: unknown): void; end(): void };
      for (const request of requests) writable.write(request);
      writable.end();
    }
  });
}
