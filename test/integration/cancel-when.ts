import { Metadata } from "@grpc/grpc-js";
import { expect } from "vitest";
import type { ProjectServiceClient } from "../../src/cli/demo/gen/example/v1/projects.js";

/**
 * Calls `method` with `requestId` as its `x-request-id`, and cancels the call once `ready(requestId)`
 * (its handler got that far); resolves to the status code the client got.
 */
export function cancelWhen(
  client: ProjectServiceClient,
  method: keyof ProjectServiceClient,
  request: unknown,
  requestId: string,
  ready: (requestId: string) => boolean,
): Promise<number | undefined> {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  return new Promise((resolve) => {
    const call = (client[method] as (...args: unknown[]) => { cancel(): void })(
      request,
      metadata,
      (error: { code: number } | null) => resolve(error?.code),
    );
    void expect
      .poll(() => ready(requestId))
      .toBe(true)
      .then(() => call.cancel());
  });
}

/**
 * Calls the server-streaming ArchiveProject for `projectId` with `requestId`, and cancels it once
 * `ready(requestId)`; resolves to the status code the client got.
 */
export function cancelArchiveWhen(
  client: ProjectServiceClient,
  projectId: string,
  requestId: string,
  ready: (requestId: string) => boolean,
): Promise<number> {
  const metadata = new Metadata();
  metadata.set("x-request-id", requestId);
  const call = client.archiveProject({ projectId }, metadata);
  call.on("data", () => undefined);
  const code = new Promise<number>((resolve) =>
    call.on("error", (error: { code: number }) => resolve(error.code)),
  );
  void expect
    .poll(() => ready(requestId))
    .toBe(true)
    .then(() => call.cancel());
  return code;
}
