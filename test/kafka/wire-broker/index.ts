// A loopback stand-in for a Kafka broker that speaks the Kafka wire protocol, for tests of the real
// `@platformatic/kafka` client where no Kafka can run. It is not Kafka: one broker, no replication,
// no transactions, no fetch sessions, no quotas, no ACLs, SASL/PLAIN only; see apis.ts for the APIs and
// versions. Faults for tests: `ProduceFault` (broker-state.ts), and `stop()` / `start()`.
export { type BrokerState, NODE_ID, type ProduceFault, type TopicOptions } from "./broker-state.js";
export type { CommittedOffset } from "./group-coordinator.js";
export type { PartitionLog, Topic } from "./partition-log.js";
export type { StoredRecord } from "./record-batch.js";
export { startWireBroker, type WireBroker } from "./wire-broker.js";
