// In-process cost per message of payload capture, on the payload fixture's generated code
// (test/fixtures/gen/payload): the redacted proto3 JSON (`redactToJson`), the canonical encoding
// (`encodeCanonical`) and a whole one-message digest as the interceptor makes it (canonical encoding
// + HMAC-SHA256 + hex), for a typical PutSecretRequest and a small ReadSecretRequest. Ratios against
// ts-proto's own `encode(m).finish()` and `toJSON(m)` of the same message, in the same run.
import { Bench } from "tinybench";
import {
  encodeCanonical,
  type PayloadProblems,
  RunningDigest,
  redactToJson,
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

/** One message to measure: its name, encoded size, and the operations on it. */
interface Subject {
  name: string;
  bytes: number;
  operations: Record<string, () => number>;
}

/** The operations on `message`: the ts-proto baselines, then what payload capture does. */
function subject<T>(name: string, message: T, fns: MessageFns<T>, shape: MessageShape): Subject {
  const operations = {
    "ts-proto encode": () => fns.encode(message).finish().length,
    "ts-proto toJSON": () => keep(fns.toJSON(message)),
    redactToJson: () => keep(redactToJson(shape, message)),
    encodeCanonical: () => encodeCanonical(shape, message).length,
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
  return { name, bytes: fns.encode(message).finish().length, operations };
}

const subjects = [
  subject("PutSecretRequest", put, PutSecretRequest, putShape),
  subject("ReadSecretRequest", read, ReadSecretRequest, readShape),
];

/** Which baseline each operation is compared with. */
const BASELINE: Record<string, string> = {
  "ts-proto encode": "ts-proto encode",
  "ts-proto toJSON": "ts-proto toJSON",
  redactToJson: "ts-proto toJSON",
  encodeCanonical: "ts-proto encode",
  "digest (encode + HMAC)": "ts-proto encode",
};

const bench = new Bench({
  name: "payload",
  time: Number(process.env.BENCH_TIME_MS ?? 1500),
  warmupTime: 300,
});
for (const { name, operations } of subjects) {
  for (const [operation, run] of Object.entries(operations)) {
    bench.add(`Payload/${name}/${operation}`, () => {
      for (let n = 0; n < BATCH; n++) sink += run();
    });
  }
}
await bench.run();

const p50Us = (name: string) => {
  const task = bench.tasks.find((t) => t.name === name);
  const result = task?.result as { latency?: { mean?: number; p50?: number } } | undefined;
  return ((result?.latency?.p50 ?? result?.latency?.mean ?? Number.NaN) * 1000) / BATCH;
};
const table = subjects.flatMap((subject) =>
  Object.entries(BASELINE).map(([operation, baseline]) => {
    const us = p50Us(`Payload/${subject.name}/${operation}`);
    const baseUs = p50Us(`Payload/${subject.name}/${baseline}`);
    return {
      message: subject.name,
      operation,
      "µs/message (p50)": us.toFixed(3),
      baseline,
      "× baseline": (us / baseUs).toFixed(2),
    };
  }),
);
const sizes = subjects.map(({ name, bytes }) => `${name} ${bytes} B`).join(", ");
console.log(
  `\nPayload capture per message (${sizes}), node ${process.version} (${sink > 0 && kept !== undefined ? "ok" : "?"})`,
);
console.table(table);
writeResults("payload", { table });
