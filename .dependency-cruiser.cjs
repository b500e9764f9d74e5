// Folder rules of src/ (see STYLE.md §1 and DESIGN.md "Layout"): which folder may import which. A call's
// data flows context → rules → authn/authz → interceptors → recorder → event → emitters → delivery →
// adapters → cli; imports point down the layers, adapters import the port they implement, and nothing
// imports cli. `npm test` runs this check (`npm run lint`); test/dev/folder-rules.test.ts shows that
// it fails on an upward import.

/** For each folder of src/: the other folders of src/ it may import. */
const MAY_IMPORT = {
  errors: [],
  gen: [],
  event: ["gen", "errors"],
  // Request ids are event ids (UUIDv7) when the caller sends none.
  context: ["event", "gen"],
  rules: ["context", "event", "errors"],
  authn: ["context", "event", "errors", "gen"],
  authz: ["context", "event", "errors", "gen"],
  // Payload capture: redaction, canonical encoding and keyed digests of messages, by their rule's shapes.
  payload: ["rules", "event", "errors"],
  // server: the channel names asyncService reports its handlers' outcomes on.
  interceptors: [
    "context",
    "rules",
    "payload",
    "authn",
    "authz",
    "recorder",
    "server",
    "event",
    "errors",
    "gen",
  ],
  server: ["errors"],
  // The Recorder takes what authn and authz report, in its own input shape.
  recorder: ["context", "authn", "authz", "chain", "event", "emitters", "errors", "gen"],
  // The tamper-evident chain: hashing, signed checkpoints, verification of a stored or logged trail.
  chain: ["event", "errors", "gen"],
  emitters: ["event", "errors", "gen"],
  delivery: ["emitters", "event", "errors", "gen"],
  // Adapters: the port each implements, and what that port carries.
  brokers: ["delivery", "emitters", "event", "errors", "gen"],
  nats: ["brokers", "delivery", "ingest", "errors"],
  // kafka implements ingest's IngestSource (createKafkaSource), as nats does.
  kafka: ["brokers", "delivery", "ingest", "errors"],
  store: ["emitters", "event", "errors", "gen"],
  // Broker-to-store ingestion: reads messages as the broker emitter wrote them (brokers' headers), from
  // a source the nats and kafka adapters implement, into any store with insert(events).
  ingest: ["brokers", "event", "errors", "gen"],
  // The PostgreSQL store reuses the SQLite store's query semantics (filters, cursors, row decoding).
  postgres: ["store", "emitters", "event", "errors", "gen"],
  openfga: ["authz", "recorder", "event", "errors", "gen"],
  testing: ["emitters", "event", "errors", "gen"],
  // OpenTelemetry: metrics read from the Recorder and the delivery pipeline; trace ids from the active span.
  otel: ["context", "interceptors", "recorder", "delivery", "emitters", "event", "errors", "gen"],
  // The read-only web trail viewer: serves any store's query results and the chain verification.
  ui: ["store", "postgres", "chain", "event", "errors", "gen"],
  cli: [
    "context",
    "rules",
    "payload",
    "authn",
    "authz",
    "interceptors",
    "server",
    "recorder",
    "chain",
    "event",
    "emitters",
    "delivery",
    "brokers",
    "store",
    "postgres",
    "ingest",
    "nats",
    // `ingest --from kafka://` opens createKafkaSource.
    "kafka",
    "openfga",
    "otel",
    "ui",
    "errors",
    "gen",
  ],
};

const folderRules = Object.entries(MAY_IMPORT).map(([folder, allowed]) => ({
  name: `folder-${folder}`,
  comment: `src/${folder}/ may import only ${allowed.length ? allowed.map((f) => `src/${f}/`).join(", ") : "nothing else of src/"}`,
  severity: "error",
  from: { path: `^src/${folder}/` },
  to: { path: "^src/", pathNot: `^src/(${[folder, ...allowed].join("|")})/` },
}));

module.exports = {
  forbidden: [
    ...folderRules,
    {
      name: "folder-unknown",
      comment: "every folder of src/ is listed in MAY_IMPORT in .dependency-cruiser.cjs",
      severity: "error",
      from: { path: "^src/[^/]+/", pathNot: `^src/(${Object.keys(MAY_IMPORT).join("|")})/` },
      to: {},
    },
    {
      name: "index-not-to-cli",
      comment: "the package entry points never load the CLI",
      severity: "error",
      from: { path: "^src/index\\.ts$" },
      to: { path: "^src/cli/" },
    },
    {
      name: "no-circular",
      comment: "no import cycles between modules of src/",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^src/gen/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
