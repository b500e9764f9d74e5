/** Metadata (v9) and FindCoordinator (v4): where topics, partitions and groups live (all here). */

import { type BrokerState, NODE_ID } from "./broker-state.js";
import type { Reader, Writer } from "./codec.js";
import { ErrorCode } from "./error-codes.js";
import { LEADER_EPOCH } from "./partition-log.js";

/** Kafka's "authorized operations not asked for". */
const NO_OPERATIONS = -2147483648;

/** Metadata v9 (flexible): the broker, and the asked topics (all when null), created if allowed. */
export function metadata(state: BrokerState, request: Reader, response: Writer): void {
  const count = request.unsignedVarInt() - 1;
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    names.push(request.string(true));
    request.taggedFields();
  }
  const allowCreate = request.boolean();
  const asked = count < 0 ? [...state.topics.keys()] : names;
  response
    .int32(0)
    .array([NODE_ID], (w, id) => w.int32(id).string(state.host).int32(state.port).string(null))
    .string("wire-broker")
    .int32(NODE_ID)
    .array(asked, (w, name) => {
      const topic =
        state.topics.get(name) ??
        (allowCreate && state.autoCreateTopics ? state.createTopic(name) : undefined);
      w.int16(topic === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : 0)
        .string(name)
        .boolean(false)
        .array(topic?.partitions ?? [], (w, p) =>
          w
            .int16(0)
            .int32(p.partition)
            .int32(NODE_ID)
            .int32(LEADER_EPOCH)
            .array([NODE_ID], (w, id) => w.int32(id), false)
            .array([NODE_ID], (w, id) => w.int32(id), false)
            .array([], () => {}, false),
        )
        .int32(NO_OPERATIONS);
    })
    .int32(NO_OPERATIONS)
    .taggedFields();
}

/** FindCoordinator v4 (flexible): this broker, for every key. */
export function findCoordinator(state: BrokerState, request: Reader, response: Writer): void {
  request.int8(); // key type: group or transaction, both here
  const keys = request.array(true, (r) => r.string(true));
  response
    .int32(0)
    .array(keys, (w, key) =>
      w.string(key).int32(NODE_ID).string(state.host).int32(state.port).int16(0).string(null),
    )
    .taggedFields();
}
