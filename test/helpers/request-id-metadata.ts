import { Metadata } from "@grpc/grpc-js";

/** A call's metadata carrying only `x-request-id: requestId`, by which a test finds the call's event. */
export function requestIdMetadata(requestId: string): Metadata {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  return metadata;
}
