/**
 * A fake Kafka cluster at the client boundary, for the Kafka source: one topic's partitions
 * (append-only logs, their high watermark is their length), one consumer group's committed offsets
 * and members (partitions assigned round-robin, reassigned when a member joins or leaves), and the
 * objects `@platformatic/kafka` would give: consumers whose streams are real object-mode Readables
 * starting at the committed offsets, and producers. Messages sent to the topic are appended to the
 * partition of their key; messages sent to any other topic are kept in `produced` (the dead letters).
 */
import { Readable } from "node:stream";
import type { ConsumeOptions, ConsumerOptions, ProducerOptions, SendOptions } from "@platformatic/kafka";
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
  /** Appends a message to a partition. */
  append(partition: number, value: Buffer | string, headers?: Record<string, string>): void;
  /** The group's committed offset of each partition (0 when none). */
  committed(): number[];
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
  const committed: number[] = Array(partitions).fill(0);
  const members: Member[] = [];

  const pushFrom = (stream: { readable: Readable; positions: Map<number, number> }) => {
    for (const [partition, position] of stream.positions) {
      const log = logs[partition] ?? [];
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
        stream.positions = new Map(member.assigned.map((p) => [p, committed[p] ?? 0]));
        pushFrom(stream);
      }
  };

  const fake: FakeKafka = {
    topic,
    consumerOptions: [],
    consumeOptions: [],
    commits: [],
    produced: [],
    failCommits: undefined,
    failSends: undefined,
    append(partition, value, headers = {}) {
      const record: FakeRecord = {
        key: Buffer.from(`k-${logs[partition]?.length}`),
        value: typeof value === "string" ? Buffer.from(value) : value,
        headers: new Map(Object.entries(headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)])),
      };
      logs[partition]?.push(record);
      for (const member of members) for (const stream of member.streams) pushFrom(stream);
    },
    committed: () => [...committed],
    highWatermarks: () => logs.map((log) => log.length),
    createConsumer(options) {
      fake.consumerOptions.push(options);
      const member: Member = { streams: new Set(), assigned: [] };
      let joined = false;
      return {
        async consume(consume) {
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
            stream.positions = new Map(member.assigned.map((p) => [p, committed[p] ?? 0]));
            pushFrom(stream);
          }
          return Object.assign(readable, {
            close: async () => {
              readable.destroy();
            },
          }) satisfies KafkaMessageStream;
        },
        async getLag() {
          const lags = logs.map((log, p) =>
            member.assigned.includes(p) ? BigInt(log.length - (committed[p] ?? 0)) : -1n,
          );
          return new Map([[topic, lags]]);
        },
        get assignments() {
          return joined ? [{ topic, partitions: member.assigned }] : null;
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
          for (const member of members) for (const stream of member.streams) pushFrom(stream);
          return {};
        },
        async close() {},
      };
    },
    failStreams(error) {
      for (const member of members) for (const stream of member.streams) stream.readable.destroy(error);
    },
  };
  return fake;
}

function headerMap(headers: Send["messages"][number]["headers"]): Map<Buffer, Buffer> {
  if (headers === undefined) return new Map();
  if (headers instanceof Map) return new Map(headers);
  return new Map(Object.entries(headers).map(([k, v]) => [Buffer.from(k), Buffer.from(String(v))]));
}
