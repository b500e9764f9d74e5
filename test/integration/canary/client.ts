/**
 * Calls of any kind to the fixture VaultService over a plain grpc-js Client with metadata, for the
 * canary fuzz: requests are serialized and responses deserialized by ts-proto's service definition.
 */
import { type Client, type ClientReadableStream, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { VaultServiceService } from "../../fixtures/gen/payload/payload.js";
import type { MethodName } from "./fuzz-calls.js";

/** Calls `method` with `requests` and `metadata`; resolves to the final status code. */
export function callVault(
  client: Client,
  method: MethodName,
  requests: readonly unknown[],
  headers: Readonly<Record<string, string>>,
): Promise<number> {
  const def = VaultServiceService[method];
  const path = def.path;
  const serialize = def.requestSerialize as (value: unknown) => Buffer;
  const deserialize = def.responseDeserialize as (value: Buffer) => unknown;
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return new Promise((resolve) => {
    const done = (error: ServiceError | null) => resolve(error?.code ?? status.OK);
    if (!def.requestStream && !def.responseStream) {
      client.makeUnaryRequest(path, serialize, deserialize, requests[0], metadata, done);
      return;
    }
    if (def.requestStream && !def.responseStream) {
      const stream = client.makeClientStreamRequest(path, serialize, deserialize, metadata, done);
      for (const request of requests) stream.write(request);
      stream.end();
      return;
    }
    if (def.requestStream) {
      const stream = client.makeBidiStreamRequest(path, serialize, deserialize, metadata);
      settleOnStatus(stream, resolve);
      for (const request of requests) stream.write(request);
      stream.end();
      return;
    }
    settleOnStatus(
      client.makeServerStreamRequest(path, serialize, deserialize, requests[0], metadata),
      resolve,
    );
  });
}

/** Resolves with the stream's status code; a failed status also comes as "error", which is ignored. */
function settleOnStatus(stream: ClientReadableStream<unknown>, resolve: (code: number) => void): void {
  stream.on("data", () => {});
  stream.on("status", (end: { code: number }) => resolve(end.code));
  stream.on("error", () => {});
}
