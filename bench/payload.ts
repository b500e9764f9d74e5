// In-process cost per message of payload capture, on the payload fixture's generated code
// (test/fixtures/gen/payload): the redacted proto3 JSON (`redactToJson`), the canonical encoding
// (`encodeCanonical`) and a whole one-message digest as the interceptor makes it (canonical encoding
// + HMAC-SHA256 + hex), for a typical PutSecretRequest and a small ReadSecretRequest; then what a
// redacted capture costs until the event holds its 2048 bytes (the whole JSON text cut as the Recorder
// cuts it, as before; `redactToJsonText`, which reads only as far as the limit), and the digest, for
// those and for large messages: 1 MB of repeated messages, one 1 MB string, a deep tree; then hostile
// ones, measured a few times each: 10 MB of bytes as a base64 string (proto-loader's `bytes: String`),
// a map of a million entries, a 1 MB string under 99 nested messages. Ratios against ts-proto's own `encode(m).finish()` and `toJSON(m)` of the same message
// (`JSON.stringify(m)` for the tree, which has no generated code), in the same run.
import { Bench } from "tinybench";
import { truncateText } from "../src/event/limits.js";
import { MAX_PAYLOAD_JSON_BYTES } from "../src/event/record-context.js";
import {
  encodeCanonical,
  type PayloadProblems,
  RunningDigest,
  redactToJson,
  redactToJsonText,
  toDigestKey,
} from "../src/payload/index.js";
import type { MessageShape } from "../src/rules/message-shape.js";
import {
  Kind,
  type MessageFns,
  PutSecretRequest,
  ReadSecretRequest,
} from "../test/fixtures/gen/payload/payload.js";
import { auditRules } from "../test/fixtures/gen/payload/payload_audit.js";
import { writeResults } from "./results.js";

// A PutSecretRequest as a service would send it: nested owner, two credentials, a few labels, one
// sensitive map entry, a oneof member, some scalars and a Timestamp.
const put: PutSecretRequest = PutSecretRequest.fromPartial({
  name: "billing/db-password",
  value: "s3cr3t-value-0123456789",
  owner: {
    id: "u-1042",
    email: "alice@example.com",
    credential: { username: "alice", password: "pw", recoveryCodes: ["r1", "r2"], kind: Kind.KIND_PASSWORD },
  },
  credentials: [
    { username: "svc-billing", password: "pw1", kind: Kind.KIND_API_KEY },
    { username: "svc-report", password: "pw2", kind: Kind.KIND_API_KEY },
  ],
  labels: { team: "billing", tier: "gold", region: "eu-west-1" },
  env: { DB_TOKEN: "token-0123456789" },
  source: { $case: "vaultPath", value: "kv/billing/db" },
  version: 42,
  pinned: true,
  ports: [5432, 6432],
  expiresAt: new Date("2030-01-02T03:04:05.678Z"),
});
const read: ReadSecretRequest = { name: "billing/db-password", reason: "rotate", oneTimeCode: "913527" };

const putShape = auditRules["/fixtures.payload.v1.VaultService/PutSecret"].requestShape;
const readShape = auditRules["/fixtures.payload.v1.VaultService/ReadSecret"].requestShape;
const { key } = toDigestKey({ id: "bench", secret: Buffer.alloc(32, 7) }, "payloadDigestKey");

// Each task runs the operation this many times, so the timer's own cost per sample stays small
// against sub-microsecond operations; results are divided back to one message.
const BATCH = 100;
// Results are consumed (counted, or the last object kept where V8 can see it escape), so V8 can
// neither drop the work nor skip building an object nobody reads.
let sink = 0;
let kept: unknown;
const keep = (value: unknown) => {
  kept = value;
  return 1;
};

/** One message to measure: its name, encoded size, how often a sample runs it, and the operations. */
interface Subject {
  name: string;
  bytes: number;
  batch: number;
  operations: Record<string, () => number>;
}

/** The baselines of a message: ts-proto's, or plain JSON.stringify for a message without generated code. */
interface Baselines {
  encode: () => number;
  toJSON: () => number;
  bytes: number;
}

const tsProto = <T>(message: T, fns: MessageFns<T>): Baselines => ({
  encode: () => fns.encode(message).finish().length,
  toJSON: () => keep(fns.toJSON(message)),
  bytes: fns.encode(message).finish().length,
});

/** What a redacted capture puts in the event: the JSON text, cut as the Recorder cuts it. */
const eventJson = (text: string) => truncateText(text, MAX_PAYLOAD_JSON_BYTES).length;

/** The operations on `message`: the baselines, then what payload capture does. */
function subject(
  name: string,
  message: unknown,
  base: Baselines,
  shape: MessageShape,
  { batch = BATCH, parts = true } = {},
): Subject {
  const operations: Record<string, () => number> = {
    "ts-proto encode": base.encode,
    "ts-proto toJSON": base.toJSON,
    ...(parts && {
      redactToJson: () => keep(redactToJson(shape, message)),
      encodeCanonical: () => encodeCanonical(shape, message).length,
    }),
    "JSON capture: whole, then cut": () => eventJson(JSON.stringify(redactToJson(shape, message))),
    "JSON capture: read to the limit": () =>
      eventJson(redactToJsonText(shape, message, MAX_PAYLOAD_JSON_BYTES)),
    "digest (encode + HMAC)": () => {
      const digest = new RunningDigest(key);
      digest.add(encodeCanonical(shape, message));
      return digest.hex().length;
    },
  };
  // A shape that does not fit the message would make every figure meaningless: refuse to measure.
  const problems: PayloadProblems = { count: 0, first: [] };
  redactToJson(shape, message, problems);
  if (problems.count > 0) throw new Error(`${name}: ${problems.first.join("; ")}`);
  return { name, bytes: base.bytes, batch, operations };
}

// About 1 MB of repeated messages: 40,000 credentials (their passwords left out).
const manyItems = PutSecretRequest.fromPartial({
  ...put,
  credentials: Array.from({ length: 40_000 }, (_, i) => ({
    username: `svc-${i}`,
    password: "pw",
    kind: Kind.KIND_API_KEY,
  })),
});
// One 1 MiB string (with quotes, newlines and non-ASCII to escape and count) in the first field.
const bigString = PutSecretRequest.fromPartial({ ...put, name: 'a "b"\n é€😀 '.repeat(65_536) });

/** message Node { string name = 1; repeated Node children = 2; } (no generated code: a hand-made shape). */
const nodeShape: MessageShape = {
  typeName: "bench.Node",
  fields: [
    { no: 1, name: "name", jsonName: "name", sensitive: false, kind: "scalar", scalar: "string" },
    {
      no: 2,
      name: "children",
      jsonName: "children",
      sensitive: false,
      kind: "message",
      message: () => nodeShape,
    },
  ].map((f) => ({ ...f, properties: [f.name], repeated: f.no === 2, optional: false, oneof: undefined })),
} as MessageShape;
interface Node {
  name: string;
  children: Node[];
}
// A deep tree: 13 levels, two children each (8191 nodes).
const tree = (depth: number): Node => ({
  name: `node-${depth}`,
  children: depth === 0 ? [] : [tree(depth - 1), tree(depth - 1)],
});
const deep = tree(12);
const plain = (message: unknown): Baselines => ({
  encode: () => JSON.stringify(message).length,
  toJSON: () => JSON.stringify(message).length,
  bytes: JSON.stringify(message).length,
});

// 10 MB of `salt` as proto-loader's `bytes: String` gives it: a base64 string of 13.3 MB.
const saltBytes = Buffer.alloc(10_000_000);
for (let i = 0; i < saltBytes.length; i++) saltBytes[i] = (i * 31 + 7) & 0xff;
const base64Salt = { ...put, salt: saltBytes.toString("base64") };
const bigSalt = PutSecretRequest.fromPartial({ ...put, salt: saltBytes });
// A million labels, in no order.
const millionLabels = PutSecretRequest.fromPartial({
  ...put,
  labels: Object.fromEntries(
    Array.from({ length: 1_000_000 }, (_, i) => [`label-${(i * 7919) % 1_000_000}`, `value-${i}`]),
  ),
});
// A 1 MiB name at the bottom of a chain of 99 nested messages (protobuf's nesting limit is 100).
const chain = (depth: number, name: string): Node => ({
  name: depth === 0 ? name : "",
  children: depth === 0 ? [] : [chain(depth - 1, name)],
});
const deepString = chain(98, "x".repeat(1 << 20));

const subjects = [
  subject("PutSecretRequest", put, tsProto(put, PutSecretRequest), putShape),
  subject("ReadSecretRequest", read, tsProto(read, ReadSecretRequest), readShape),
  subject("1 MB of items", manyItems, tsProto(manyItems, PutSecretRequest), putShape, {
    batch: 1,
    parts: false,
  }),
  subject("1 MB string", bigString, tsProto(bigString, PutSecretRequest), putShape, {
    batch: 1,
    parts: false,
  }),
  subject("deep tree", deep, plain(deep), nodeShape, { batch: 1, parts: false }),
];
/** Messages whose whole reading takes long: a few samples each, in a bench of their own. */
const hostile = [
  subject("10 MB base64 bytes", base64Salt, tsProto(bigSalt, PutSecretRequest), putShape, {
    batch: 1,
    parts: false,
  }),
  subject("1M map entries", millionLabels, tsProto(millionLabels, PutSecretRequest), putShape, {
    batch: 1,
    parts: false,
  }),
  subject("1 MB string 99 deep", deepString, plain(deepString), nodeShape, { batch: 1, parts: false }),
];

/** Which baseline each operation is compared with. */
const BASELINE: Record<string, string> = {
  "ts-proto encode": "ts-proto encode",
  "ts-proto toJSON": "ts-proto toJSON",
  redactToJson: "ts-proto toJSON",
  encodeCanonical: "ts-proto encode",
  "JSON capture: whole, then cut": "ts-proto toJSON",
  "JSON capture: read to the limit": "ts-proto toJSON",
  "digest (encode + HMAC)": "ts-proto encode",
};

const bench = new Bench({
  name: "payload",
  time: Number(process.env.BENCH_TIME_MS ?? 1500),
  warmupTime: 300,
});
// Hostile messages took up to 30 s a reading: 3 samples (after one warm-up) give their p50.
const hostileBench = new Bench({
  name: "payload-hostile",
  time: 0,
  iterations: 3,
  warmupTime: 0,
  warmupIterations: 1,
});
const only = process.env.BENCH_PAYLOAD === undefined ? undefined : new RegExp(process.env.BENCH_PAYLOAD);
const add = (to: Bench, list: readonly Subject[]) => {
  for (const { name, batch, operations } of list) {
    for (const [operation, run] of Object.entries(operations)) {
      const task = `Payload/${name}/${operation}`;
      if (only !== undefined && !only.test(task)) continue;
      to.add(task, () => {
        for (let n = 0; n < batch; n++) sink += run();
      });
    }
  }
};
add(bench, subjects);
add(hostileBench, hostile);
await bench.run();
await hostileBench.run();

const p50Us = (name: string, batch: number) => {
  const task = [...bench.tasks, ...hostileBench.tasks].find((t) => t.name === name);
  const result = task?.result as { latency?: { mean?: number; p50?: number } } | undefined;
  return ((result?.latency?.p50 ?? result?.latency?.mean ?? Number.NaN) * 1000) / batch;
};
const table = [...subjects, ...hostile].flatMap((subject) =>
  Object.entries(BASELINE)
    .filter(([operation]) => operation in subject.operations)
    .map(([operation, baseline]) => {
      const us = p50Us(`Payload/${subject.name}/${operation}`, subject.batch);
      const baseUs = p50Us(`Payload/${subject.name}/${baseline}`, subject.batch);
      return {
        message: subject.name,
        operation,
        "µs/message (p50)": us.toFixed(3),
        baseline,
        "× baseline": (us / baseUs).toFixed(2),
      };
    }),
);
const sizes = [...subjects, ...hostile].map(({ name, bytes }) => `${name} ${bytes} B`).join(", ");
console.log(
  `\nPayload capture per message (${sizes}), node ${process.version} (${sink > 0 && kept !== undefined ? "ok" : "?"})`,
);
console.table(table);
writeResults("payload", { table });
