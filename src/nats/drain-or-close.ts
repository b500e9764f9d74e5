import type { NatsConnection } from "@nats-io/transport-node";

/** How long a drain may wait for the server before the connection is closed instead, in ms. @internal */
export const DRAIN_TIMEOUT_MS = 5000;

/**
 * Drains `nc`, so that what was sent goes out first, or closes it when the drain fails (nothing to
 * drain to during an outage) or takes longer than DRAIN_TIMEOUT_MS: a drain waits for the server's
 * reply, which never comes over a path cut without a TCP reset, and an open connection keeps
 * reconnecting and holds the process. What was not sent is for the caller's retries or redeliveries.
 * @internal
 */
export async function drainOrClose(nc: NatsConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
  });
  try {
    await Promise.race([nc.drain().catch(() => {}), late]);
  } finally {
    clearTimeout(timer);
  }
  if (!nc.isClosed()) await nc.close();
}
