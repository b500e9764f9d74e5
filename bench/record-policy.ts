// In-process cost per record call of the record policy: an allowed authz decision and an accepted
// credential recorded inside a call's audit scope (chained, into a noop emitter or a pino logger that
// drops its lines) against the same calls skipped and counted by policy "failures". Ratios against
// the recorded call, in the same run, after subtracting the loop's own cost (entering the scope). `npm run bench:build && node dist-bench/bench/record-policy.js`.
import pino from "pino";
import { Bench } from "tinybench";
import { createAuditScope, runInAuditScope } from "../src/context/scope.js";
import { ActorType } from "../src/gen/grpcaudit/v1/event.js";
import {
  createLogEmitter,
  createNoopEmitter,
  createRecorder,
  type Emitter,
  type Recorder,
  type RecordPolicy,
} from "../src/index.js";
import { writeResults } from "./results.js";

const FAILURES_ONLY: RecordPolicy = { "authn.result": "failures", "authz.decision": "failures" };
const discardingLog = () => createLogEmitter({ logger: pino({ level: "info" }, { write: () => {} }) });
const recorder = (emitter: Emitter, record?: RecordPolicy): Recorder =>
  createRecorder({ service: "bench", emitters: [emitter], ...(record && { record }) });

const cases: Record<string, Recorder> = {
  "all+noop": recorder(createNoopEmitter()),
  "all+log(discarded)": recorder(discardingLog()),
  "failures(skipped)": recorder(createNoopEmitter(), FAILURES_ONLY),
};

// A call's scope as the audit interceptor opens it, with the actor authn set; a few actors and
// methods, so the counts are a realistic handful of keys.
const scopes = ["alice", "bob", "carol"].flatMap((id) =>
  ["UpdateProject", "GetProject"].map((method) => {
    const scope = createAuditScope({ operation: `/example.v1.ProjectService/${method}`, startedAtMs: 0 });
    scope.actor = {
      id,
      type: ActorType.ACTOR_TYPE_USER,
      displayName: "",
      email: "",
      subject: "",
      clientId: "",
      realm: "",
    };
    return scope;
  }),
);
const decision = {
  relation: "editor",
  objectType: "project",
  objectId: "p-1",
  decision: "allowed",
  cacheHit: true,
  result: { success: true, code: 0 },
} as const;

let sink = 0; // consumed, so V8 cannot drop the calls
let n = 0;
const bench = new Bench({
  name: "record policy",
  time: Number(process.env.BENCH_TIME_MS ?? 1500),
  warmupTime: 300,
});
for (const [name, r] of Object.entries(cases)) {
  bench.add(`Recorder/authzDecision/${name}`, () => {
    const scope = scopes[++n % scopes.length] ?? scopes[0];
    if (scope === undefined) return;
    runInAuditScope(scope, () => {
      sink += r.recordAuthzDecision(decision) === "accepted" ? 1 : 0;
    });
  });
  bench.add(`Recorder/authnResult/${name}`, () => {
    const scope = scopes[++n % scopes.length] ?? scopes[0];
    if (scope === undefined) return;
    runInAuditScope(scope, () => {
      sink +=
        r.recordAuthnResult({ method: "jwt", success: true, actor: { id: "alice" } }) === "accepted" ? 1 : 0;
    });
  });
}
// What the loop itself costs (a scope entered, no record call), to subtract from every line.
bench.add("Recorder/none/scope-only", () => {
  const scope = scopes[++n % scopes.length] ?? scopes[0];
  if (scope === undefined) return;
  runInAuditScope(scope, () => {
    sink += 1;
  });
});
await bench.run();
// The skipping Recorder must have skipped (and recorded nothing), or the table compares the wrong paths.
const skipping = cases["failures(skipped)"]?.stats();
if (skipping === undefined || skipping.accepted !== 0 || skipping.skipped.counts.length !== 8) {
  throw new Error("the failures Recorder did not skip every call");
}

const p50Us = (name: string) => {
  const result = bench.tasks.find((t) => t.name === name)?.result as
    | { latency?: { p50?: number; mean?: number } }
    | undefined;
  return (result?.latency?.p50 ?? result?.latency?.mean ?? Number.NaN) * 1000;
};
const loop = p50Us("Recorder/none/scope-only");
const table = ["authzDecision", "authnResult"].flatMap((kind) => {
  const recorded = p50Us(`Recorder/${kind}/all+noop`) - loop;
  return Object.keys(cases).map((name) => ({
    case: `${kind}/${name}`,
    "µs/call (p50)": p50Us(`Recorder/${kind}/${name}`).toFixed(3),
    "µs without the loop": (p50Us(`Recorder/${kind}/${name}`) - loop).toFixed(3),
    "× all+noop": ((p50Us(`Recorder/${kind}/${name}`) - loop) / recorded).toFixed(2),
  }));
});
console.log(
  `\nRecord policy: cost per record call inside a scope, node ${process.version} (sink ${sink > 0})`,
);
console.log(
  `the loop (a scope entered, no record call): ${loop.toFixed(3)} µs, subtracted in the last two columns`,
);
console.table(table);
writeResults("record-policy", { loopUs: loop, table });
