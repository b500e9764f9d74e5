import { type NatsConnection, PermissionViolationError } from "@nats-io/transport-node";

/**
 * What a NATS connection said that its callers would not hear otherwise: why it was closed for good
 * (the client gives up reconnecting, as after an auth error twice in a row with
 * `ignoreAuthErrorAbort: false`, or reconnect attempts running out), and the publishes the server
 * refused by permissions (a plain publish, such as an ack, is never answered; the server only says
 * so on the connection).
 * @internal
 */
export interface ConnectionWatch {
  /** Why the connection was closed, once it is: the client's error, or "closed by the application". */
  closedReason(): string | undefined;
  /** How many publishes to a subject `matches` accepted the server has refused so far. */
  refused(): number;
  /** The last of those refusals, as the server worded it. */
  lastRefusal(): string | undefined;
  /** Stops watching the server's errors (a connection the application keeps open outlives its user). */
  stop(): void;
}

/** Watches `nc`; `matches` picks the refused publishes to count (such as a consumer's ack subjects). @internal */
export function watchConnection(nc: NatsConnection, matches: (subject: string) => boolean): ConnectionWatch {
  let closedReason: string | undefined;
  let refused = 0;
  let lastRefusal: string | undefined;
  nc.closed().then(
    (error) => {
      closedReason = error instanceof Error ? error.message : "closed by the application";
    },
    () => {
      closedReason = "closed";
    },
  );
  const statuses = nc.status();
  void (async () => {
    for await (const status of statuses) {
      if (status.type !== "error") continue;
      const error = status.error;
      if (
        error instanceof PermissionViolationError &&
        error.operation === "publish" &&
        matches(error.subject)
      ) {
        refused++;
        lastRefusal = error.message;
      }
    }
  })().catch(() => {});
  return {
    closedReason: () => closedReason ?? (nc.isClosed() ? "closed" : undefined),
    refused: () => refused,
    lastRefusal: () => lastRefusal,
    // The client's iterator has a stop(); its public type says only AsyncIterable.
    stop: () => (statuses as { stop?: () => void }).stop?.(),
  };
}

/** The ack subjects (`$JS.ACK.[<domain>.<account hash>.]<stream>.<consumer>.…`) of one consumer. @internal */
export function isAckSubjectOf(stream: string, consumer: string): (subject: string) => boolean {
  const part = `.${stream}.${consumer}.`;
  return (subject) => subject.startsWith("$JS.ACK.") && subject.includes(part);
}
