/**
 * The consumer group APIs, all in flexible versions: JoinGroup v6, SyncGroup v4, Heartbeat v4,
 * LeaveGroup v4, OffsetCommit v8 and OffsetFetch v8. The group logic is in group-coordinator.ts.
 */
import type { BrokerState } from "./broker-state.js";
import type { Reader, Writer } from "./codec.js";

/** JoinGroup v6. Resolves once the group's rebalance completed (or refused the member). */
export async function joinGroup(state: BrokerState, request: Reader, response: Writer, clientId: string) {
  const groupId = request.string(true);
  const sessionTimeoutMs = request.int32();
  const rebalanceTimeoutMs = request.int32();
  const memberId = request.string(true);
  request.nullableString(true); // group instance id: static membership is not supported
  request.string(true); // protocol type
  const protocols = request.array(true, (r) => {
    const name = r.string(true);
    const metadata = r.nullableBytes(true) ?? Buffer.alloc(0);
    r.taggedFields();
    return { name, metadata };
  });
  const joined = await state.coordinator
    .group(groupId)
    .join({ memberId, clientId, sessionTimeoutMs, rebalanceTimeoutMs, protocols });
  response
    .int32(0)
    .int16(joined.errorCode)
    .int32(joined.generationId)
    .string(joined.protocolName)
    .string(joined.leader)
    .string(joined.memberId)
    .array(joined.members, (w, m) => w.string(m.memberId).string(null).bytes(m.metadata))
    .taggedFields();
}

/** SyncGroup v4. Resolves once the leader sent the assignment (or the member was refused). */
export async function syncGroup(state: BrokerState, request: Reader, response: Writer) {
  const groupId = request.string(true);
  const generationId = request.int32();
  const memberId = request.string(true);
  request.nullableString(true); // group instance id
  const assignments = request.array(true, (r) => {
    const id = r.string(true);
    const assignment = r.nullableBytes(true) ?? Buffer.alloc(0);
    r.taggedFields();
    return { memberId: id, assignment };
  });
  const synced = await state.coordinator.group(groupId).sync(generationId, memberId, assignments);
  response.int32(0).int16(synced.errorCode).bytes(synced.assignment).taggedFields();
}

/** Heartbeat v4. */
export function heartbeat(state: BrokerState, request: Reader, response: Writer): void {
  const groupId = request.string(true);
  const generationId = request.int32();
  const memberId = request.string(true);
  response.int32(0).int16(state.coordinator.group(groupId).heartbeat(generationId, memberId)).taggedFields();
}

/** LeaveGroup v4. */
export function leaveGroup(state: BrokerState, request: Reader, response: Writer): void {
  const group = state.coordinator.group(request.string(true));
  const members = request.array(true, (r) => {
    const memberId = r.string(true);
    r.nullableString(true);
    r.taggedFields();
    return memberId;
  });
  response
    .int32(0)
    .int16(0)
    .array(members, (w, memberId) => w.string(memberId).string(null).int16(group.leave(memberId)))
    .taggedFields();
}

/** OffsetCommit v8: stores the offsets if the member's generation is the group's. */
export function offsetCommit(state: BrokerState, request: Reader, response: Writer): void {
  const group = state.coordinator.group(request.string(true));
  const generationId = request.int32();
  const memberId = request.string(true);
  request.nullableString(true); // group instance id
  const topics = request.array(true, (r) => {
    const name = r.string(true);
    const partitions = r.array(true, (r) => {
      const index = r.int32();
      const offset = r.int64();
      const leaderEpoch = r.int32();
      const metadata = r.nullableString(true);
      r.taggedFields();
      return { index, offset, leaderEpoch, metadata };
    });
    r.taggedFields();
    return { name, partitions };
  });
  const errorCode = group.checkCommit(generationId, memberId);
  if (errorCode === 0) for (const t of topics) for (const p of t.partitions) group.commit(t.name, p.index, p);
  response
    .int32(0)
    .array(topics, (w, t) =>
      w.string(t.name).array(t.partitions, (w, p) => w.int32(p.index).int16(errorCode)),
    )
    .taggedFields();
}

/** OffsetFetch v8: committed offsets per group, -1 where none was committed. */
export function offsetFetch(state: BrokerState, request: Reader, response: Writer): void {
  const groups = request.array(true, (r) => {
    const groupId = r.string(true);
    const count = r.unsignedVarInt() - 1;
    const topics: { name: string; partitions: number[] }[] = [];
    for (let i = 0; i < count; i++) {
      const name = r.string(true);
      topics.push({ name, partitions: r.array(true, (r) => r.int32()) });
      r.taggedFields();
    }
    r.taggedFields();
    return { groupId, topics: count < 0 ? undefined : topics };
  });
  response
    .int32(0)
    .array(groups, (w, g) => {
      const offsets = state.coordinator.group(g.groupId).offsets;
      const topics =
        g.topics ?? [...offsets].map(([name, partitions]) => ({ name, partitions: [...partitions.keys()] }));
      w.string(g.groupId)
        .array(topics, (w, t) =>
          w.string(t.name).array(t.partitions, (w, index) => {
            const committed = offsets.get(t.name)?.get(index);
            w.int32(index)
              .int64(committed?.offset ?? -1n)
              .int32(committed?.leaderEpoch ?? -1)
              .string(committed?.metadata ?? null)
              .int16(0);
          }),
        )
        .int16(0);
    })
    .taggedFields();
}
