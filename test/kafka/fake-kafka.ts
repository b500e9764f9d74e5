/**
 * A stand-in for a Kafka cluster and `@platformatic/kafka` together, at the client boundary (no
 * broker and no wire protocol: the objects the client would give): one topic's partitions
 * (append-only logs, their high watermark is their length, their log start offset 0 until
 * `deleteRecords` moves it, as retention or a DeleteRecords does), one consumer group's committed
 * offsets and members (partitions assigned round-robin, reassigned when a member joins or leaves,
 * each rebalance a new generation), consumers whose streams are real object-mode Readables starting
 * at the committed offsets (at the log start without one: the source's fallback "earliest"), and
 * producers. Messages sent to the topic are appended to the partition of their key; messages sent to
 * any other topic are kept in `produced` (the dead letters).
 *
 * Reading below a partition's log start behaves as the 1.x client does on the broker's answer
 * OFFSET_OUT_OF_RANGE (read in its source: the Fetch response's partition error becomes a
 * ResponseError that is not retried, and the stream is destroyed with it): the stream fails with that
 * same error, built with the client's own ResponseError class. `listOffsets` answers the log start
 * (EARLIEST) or the high watermark (LATEST), `listCommittedOffsets` -1 for a partition without one.
 */
import { Readable } from "node:stream";
import {
  type ConsumeOptions,
  type ConsumerOptions,
  ListOffsetTimestamps,
  type ProducerOptions,
  ResponseError,
  type SendOptions,
} from "@platformatic/kafka";
import type {
  KafkaConsumer,
  KafkaMessage,
  KafkaMessageStream,
  KafkaProducer,
} from "../../src/kafka/index.js";

type Send = SendOptions<Buffer, Buffer, Buffer, Buffer>;

interface FakeRecord {
  key: Buffer;
  value: Buffer;
  headers: Map<Buffer, Buffer>;
}

/** A member of the group: its open streams, each at a position per partition it reads. */
interface Member {
  streams: Set<{ readable: Readable; positions: Map<number, number> }>;
  assigned: number[];
}

/** Things a test can break or look at. */
export interface FakeKafka {
  readonly topic: string;
  /** What each consumer was created and consumed with. */
  readonly consumerOptions: ConsumerOptions<Buffer, Buffer, Buffer, Buffer>[];
  readonly consumeOptions: ConsumeOptions<Buffer, Buffer, Buffer, Buffer>[];
  /** Every commit, in order: partition and offset (the next message to read). */
  readonly commits: { partition: number; offset: number }[];
  /** Messages sent to other topics than `topic` (dead letters). */
  readonly produced: { topic: string; key: string; value: Buffer; headers: Record<string, string> }[];
  /** Set to make commits reject. */
  failCommits: Error | undefined;
  /** Set to make sends to other topics (dead letters) reject. */
  failSends: Error | undefined;
  /** Set to make listOffsets reject. */
  failListOffsets: Error | undefined;
  /** Called on each consumer-level commit (not a message's), before it is applied. */
  beforeCommit: (() => void) | undefined;
  /** Called on each message's own commit, before it is applied. */
  beforeMessageCommit: (() => void) | undefined;
  /** Assigns the partitions again, a new generation, as when a member's session timed out and it rejoined. */
  rebalance(): void;
  /** Set to hold messages back from every stream (members still join); cleared, `deliver` pushes them. */
  holdMessages: boolean;
  /** Pushes to every open stream what it has not been given yet. */
  deliver(): void;
  /** How many consumers are members of the group now. */
  memberCount(): number;
  /** Appends a message to a partition. */
  append(partition: number, value: Buffer | string, headers?: Record<string, string>): void;
  /** Deletes a partition's messages below `offset` (retention, DeleteRecords): its log start offset. */
  deleteRecords(partition: number, offset: number): void;
  /** Sets the group's committed offset of a partition, as an earlier member's commit did. */
  commitOffset(partition: number, offset: number): void;
  /** The group's committed offset of each partition (0 when none). */
  committed(): number[];
  /** The partitions' log start offsets. */
  logStarts(): number[];
  /** The partitions' lengths. */
  highWatermarks(): number[];
  createConsumer(options: ConsumerOptions<Buffer, Buffer, Buffer, Buffer>): KafkaConsumer;
  createProducer(options: ProducerOptions<Buffer, Buffer, Buffer, Buffer>): KafkaProducer;
  /** Destroys every open stream with `error`, as the client does when a fetch fails for good. */
  failStreams(error: Error): void;
}

/** A fake cluster with `partitions` partitions of `topic`. */
export function fakeKafka(topic: string, partitions: number): FakeKafka {
  const logs: FakeRecord[][] = Array.from({ length: partitions }, () => []);
  const committed: (number | undefined)[] = Array(partitions).fill(undefined);
  const logStart: number[] = Array(partitions).fill(0);
  const members: Member[] = [];
  let generation = 0;
  /** Where a stream starts on a partition: its committed offset, else its log start ("earliest"). */
  const startAt = (p: number) => committed[p] ?? logStart[p] ?? 0;

  const pushFrom = (stream: { readable: Readable; positions: Map<number, number> }) => {
    if (fake.holdMessages) return;
    for (const [partition, position] of stream.positions) {
      const log = logs[partition] ?? [];
      if (position < (logStart[partition] ?? 0)) {
        // Later, as the client's fetch answers: after consume() resolved and the source listens.
        setImmediate(() => stream.readable.destroy(outOfRange(partition)));
        return;
      }
      for (let offset = position; offset < log.length; offset++) {
        const record = log[offset] as FakeRecord;
        stream.readable.push(message(partition, offset, record));
      }
      stream.positions.set(partition, log.length);
    }
  };
  const message = (partition: number, offset: number, record: FakeRecord): KafkaMessage => ({
    ...record,
    topic,
    partition,
    offset: BigInt(offset),
    commit: async () => {
      fake.beforeMessageCommit?.();
      if (fake.failCommits !== undefined) throw fake.failCommits;
      committed[partition] = offset + 1;
      fake.commits.push({ partition, offset: offset + 1 });
    },
  });
  /** Round-robin assignment; every stream restarts its new partitions at the committed offsets. */
  const rebalance = () => {
    for (const member of members) member.assigned = [];
    for (let p = 0; p < partitions; p++) members[p % members.length]?.assigned.push(p);
    for (const member of members)
      for (const stream of member.streams) {
        stream.positions = new Map(member.assigned.map((p) => [p, startAt(p)]));
        pushFrom(stream);
      }
    generation++;
  };

  const fake: FakeKafka = {
    topic,
    consumerOptions: [],
    consumeOptions: [],
    commits: [],
    produced: [],
    failCommits: undefined,
    failSends: undefined,
    failListOffsets: undefined,
    beforeCommit: undefined,
    beforeMessageCommit: undefined,
    rebalance: () => rebalance(),
    holdMessages: false,
    deliver() {
      for (const member of members) for (const stream of member.streams) pushFrom(stream);
    },
    memberCount: () => members.length,
    append(partition, value, headers = {}) {
      const record: FakeRecord = {
        key: Buffer.from(`k-${logs[partition]?.length}`),
        value: typeof value === "string" ? Buffer.from(value) : value,
        headers: new Map(Object.entries(headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
      };
      logs[partition]?.push(record);
      fake.deliver();
    },
    deleteRecords(partition, offset) {
      logStart[partition] = Math.max(logStart[partition] ?? 0, offset);
    },
    commitOffset(partition, offset) {
      committed[partition] = offset;
    },
    committed: () => committed.map((c) => c ?? 0),
    logStarts: () => [...logStart],
    highWatermarks: () => logs.map((log) => log.length),
    createConsumer(options) {
      fake.consumerOptions.push(options);
      const member: Member = { streams: new Set(), assigned: [] };
      let joined = false;
      return {
        consume(consume, callback) {
          fake.consumeOptions.push(consume);
          const readable = new Readable({ objectMode: true, read() {} });
          const stream = { readable, positions: new Map<number, number>() };
          member.streams.add(stream);
          readable.once("close", () => member.streams.delete(stream));
          if (!joined) {
            joined = true;
            members.push(member);
            rebalance();
          } else {
            stream.positions = new Map(member.assigned.map((p) => [p, startAt(p)]));
            pushFrom(stream);
          }
          callback(
            null,
            Object.assign(readable, {
              close: async () => {
                readable.destroy();
              },
            }) satisfies KafkaMessageStream,
          );
        },
        async getLag() {
          const lags = logs.map((log, p) =>
            member.assigned.includes(p) ? BigInt(log.length - startAt(p)) : -1n,
          );
          return new Map([[topic, lags]]);
        },
        async listOffsets(options) {
          if (fake.failListOffsets !== undefined) throw fake.failListOffsets;
          const earliest = options.timestamp === ListOffsetTimestamps.EARLIEST;
          return new Map([[topic, logs.map((log, p) => BigInt(earliest ? (logStart[p] ?? 0) : log.length))]]);
        },
        async listCommittedOffsets() {
          return new Map([[topic, committed.map((c) => BigInt(c ?? -1))]]);
        },
        async commit(options) {
          fake.beforeCommit?.();
          if (fake.failCommits !== undefined) throw fake.failCommits;
          for (const { partition, offset } of options.offsets) {
            committed[partition] = Number(offset);
            fake.commits.push({ partition, offset: Number(offset) });
          }
        },
        get assignments() {
          return joined ? [{ topic, partitions: member.assigned }] : null;
        },
        get generationId() {
          return generation;
        },
        async close() {
          for (const stream of member.streams) stream.readable.destroy();
          const index = members.indexOf(member);
          if (index >= 0) members.splice(index, 1);
          rebalance();
        },
      };
    },
    createProducer() {
      return {
        async send(send: Send) {
          for (const m of send.messages) {
            if (m.topic === topic) {
              const partition = Number.parseInt(m.key?.toString("hex").slice(-6) ?? "0", 16) % partitions;
              logs[partition]?.push({
                key: m.key ?? Buffer.alloc(0),
                value: m.value ?? Buffer.alloc(0),
                headers: headerMap(m.headers),
              });
              continue;
            }
            if (fake.failSends !== undefined) throw fake.failSends;
            fake.produced.push({
              topic: m.topic,
              key: m.key?.toString() ?? "",
              value: m.value ?? Buffer.alloc(0),
              headers: Object.fromEntries(
                [...headerMap(m.headers)].map(([k, v]) => [k.toString(), v.toString()]),
              ),
            });
          }
          fake.deliver();
          return {};
        },
        async close() {},
      };
    },
    failStreams(error) {
      for (const member of members) for (const stream of member.streams) stream.readable.destroy(error);
    },
  };
  /** The error the client's stream fails with when the broker answers a fetch OFFSET_OUT_OF_RANGE. */
  const outOfRange = (partition: number) =>
    new ResponseError(
      1,
      17,
      { "/responses/0/partitions/0": [1, null] },
      {
        throttleTimeMs: 0,
        errorCode: 0,
        sessionId: 0,
        responses: [
          {
            topicId: "00000000-0000-0000-0000-000000000001",
            partitions: [
              {
                partitionIndex: partition,
                errorCode: 1,
                highWatermark: -1n,
                lastStableOffset: -1n,
                logStartOffset: -1n,
                abortedTransactions: [],
                preferredReadReplica: -1,
              },
            ],
          },
        ],
      },
    );
  return fake;
}

function headerMap(headers: Send["messages"][number]["headers"]): Map<Buffer, Buffer> {
  if (headers === undefined) return new Map();
  if (headers instanceof Map) return new Map(headers);
  return new Map(Object.entries(headers).map(([k, v]) => [Buffer.from(k), Buffer.from(String(v))]));
}
