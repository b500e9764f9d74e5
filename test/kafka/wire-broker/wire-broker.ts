/**
 * A Kafka broker stand-in on loopback that speaks the Kafka wire protocol (the request and response
 * framing, and the APIs of apis.ts), so the real `@platformatic/kafka` Producer and Consumer run
 * against it. One broker, node 1, leads every partition and coordinates every group; its state is
 * plain objects a test reads and changes (topics, logs, groups, committed offsets).
 *
 * ```ts
 * const kafka = await startWireBroker();
 * kafka.createTopic("audit-events", { partitions: 3 });
 * const producer = new Producer({ clientId: "t", bootstrapBrokers: kafka.bootstrapBrokers });
 * ```
 *
 * Faults: `state.produceFault` closes the connection, delays the answer or answers an error for chosen
 * produce requests; `state.holdAnswer` holds any request's answer until the test lets it go; `stop()`
 * and `start()` take the broker down and bring it back on the same port.
 */
import { createServer, type Server, type Socket } from "node:net";
import { APIS, responseHeaderTagged } from "./apis.js";
import { BrokerState, type TopicOptions } from "./broker-state.js";
import { Reader, Writer } from "./codec.js";
import type { CommittedOffset } from "./group-coordinator.js";
import type { Topic } from "./partition-log.js";
import { produce } from "./produce-apis.js";
import type { StoredRecord } from "./record-batch.js";

/** A running stand-in broker. */
export interface WireBroker {
  /** ["127.0.0.1:<port>"], for a client's `bootstrapBrokers`. */
  readonly bootstrapBrokers: string[];
  /** The broker's state, for tests to look into. */
  readonly state: BrokerState;
  /** Requests the stand-in could not serve (an API or version it lacks, a malformed request). */
  readonly errors: Error[];
  /** Creates a topic (an existing one is returned as it is). */
  createTopic(name: string, options?: TopicOptions): Topic;
  /** The records of a partition from its log start on. */
  records(topic: string, partition: number): StoredRecord[];
  /** Removes a partition's records below `offset`, as retention or DeleteRecords does. */
  deleteRecords(topic: string, partition: number, offset: bigint): void;
  /** A group's committed offsets of a topic, by partition. */
  committed(groupId: string, topic: string): ReadonlyMap<number, CommittedOffset>;
  /** Closes every connection and stops listening; the state (topics, logs, groups) is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port after `stop()`, with the state as it was. */
  start(): Promise<void>;
  /** Closes every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts a stand-in broker on 127.0.0.1 at a free port. */
export async function startWireBroker(): Promise<WireBroker> {
  const state = new BrokerState();
  const errors: Error[] = [];
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const start = async () => {
    if (server !== undefined) return;
    const listening = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
      serve(state, socket, (error) => {
        errors.push(error);
        socket.destroy();
      });
    });
    server = listening;
    state.closing = new AbortController();
    await new Promise<void>((resolve) => listening.listen(state.port, state.host, resolve));
    const address = listening.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    state.port = address.port;
  };
  const stop = async () => {
    const listening = server;
    if (listening === undefined) return;
    server = undefined;
    state.closing.abort();
    const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await start();
  return {
    bootstrapBrokers: [`${state.host}:${state.port}`],
    state,
    errors,
    createTopic: (name, options) => state.createTopic(name, options),
    records: (topic, partition) => state.partition(topic, partition)?.records() ?? [],
    deleteRecords(topic, partition, offset) {
      const log = state.partition(topic, partition);
      if (log === undefined) throw new Error(`no partition ${topic}/${partition}`);
      log.deleteBelow(offset);
    },
    committed: (groupId, topic) => state.coordinator.group(groupId).offsets.get(topic) ?? new Map(),
    stop,
    start,
    async close() {
      state.coordinator.close();
      await stop();
    },
  };
}

/**
 * Reads size-delimited requests from the socket and answers them one at a time, in order, as Kafka
 * does on a connection (a fetch waiting for data holds the requests sent after it on its connection).
 */
function serve(state: BrokerState, socket: Socket, fail: (error: Error) => void): void {
  let pending = Buffer.alloc(0);
  let queue = Promise.resolve();
  socket.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
      pending = pending.subarray(4 + frame.length);
      queue = queue
        .then(() => handle(state, frame))
        .then(
          (response) => {
            if (response === CLOSE_CONNECTION) socket.destroy();
            else if (response !== undefined && !socket.destroyed) socket.write(response);
          },
          (error: unknown) => fail(error instanceof Error ? error : new Error(String(error))),
        );
    }
  });
}

/** What `handle` returns for a request whose fault closes the connection instead of answering. */
const CLOSE_CONNECTION = Symbol("close connection");

const PRODUCE_KEY = 0;

/**
 * One request frame to its response frame (size included), undefined when none is sent, or
 * CLOSE_CONNECTION.
 */
async function handle(
  state: BrokerState,
  frame: Buffer,
): Promise<Buffer | undefined | typeof CLOSE_CONNECTION> {
  const request = new Reader(frame);
  const key = request.int16();
  const version = request.int16();
  const correlationId = request.int32();
  const clientId = request.nullableString(false) ?? "";
  const api = APIS.get(key);
  if (api === undefined || api.version !== version)
    throw new Error(`API ${api?.name ?? key} v${version} is not implemented (only v${api?.version ?? "-"})`);
  if (api.flexible) request.taggedFields();
  const body = new Writer(api.flexible);
  const fault = api.key === PRODUCE_KEY ? state.produceFault?.(++state.produceRequests) : undefined;
  if (fault?.kind === "close-connection" && !fault.append) return CLOSE_CONNECTION;
  const answered =
    fault?.kind === "error"
      ? produce(state, request, body, fault.errorCode)
      : await api.handle(state, request, body, clientId);
  if (fault?.kind === "close-connection") return CLOSE_CONNECTION;
  if (fault?.kind === "delay-answer") await delay(fault.ms, state.closing.signal);
  const held = state.holdAnswer?.(api.name);
  if (held !== undefined) await Promise.race([held, delay(Number.POSITIVE_INFINITY, state.closing.signal)]);
  if (answered === false) return undefined;
  const header = new Writer(true).int32(correlationId);
  if (responseHeaderTagged(api)) header.taggedFields();
  const payload = Buffer.concat([header.toBuffer(), body.toBuffer()]);
  return Buffer.concat([new Writer(false).int32(payload.length).toBuffer(), payload]);
}

/** Resolves after `ms` (never for Infinity), or at once when `signal` aborts (the broker stops). */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done);
  });
}
