/**
 * The classic consumer group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and the
 * group's committed offsets. A rebalance waits until every member joined again (members learn of
 * it from Heartbeat's REBALANCE_IN_PROGRESS), or until the longest rebalance timeout, then drops
 * the members that did not; a member silent for its session timeout is dropped too. The group
 * leader computes the assignment; the coordinator only hands it out.
 */
import { randomUUID } from "node:crypto";
import { ErrorCode } from "./error-codes.js";

/** A protocol a member can use, with its subscription metadata. */
export interface MemberProtocol {
  readonly name: string;
  readonly metadata: Buffer;
}

/** What JoinGroup answers. */
export interface JoinResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly memberId: string;
  /** Every member with its metadata for the leader; empty for the others. */
  readonly members: readonly { readonly memberId: string; readonly metadata: Buffer }[];
}

/** A committed offset of a partition. */
export interface CommittedOffset {
  readonly offset: bigint;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
}

interface Member {
  readonly id: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: readonly MemberProtocol[];
  lastSeen: number;
  assignment: Buffer;
  join: ((result: JoinResult) => void) | undefined;
  sync: ((result: { errorCode: number; assignment: Buffer }) => void) | undefined;
}

type GroupState = "empty" | "preparing" | "completing" | "stable";

/** One consumer group. */
export class Group {
  state: GroupState = "empty";
  generationId = 0;
  leader: string | undefined;
  protocolName: string | null = null;
  readonly members = new Map<string, Member>();
  /** Ids given with MEMBER_ID_REQUIRED, not used to join yet. */
  private readonly pendingMemberIds = new Set<string>();
  /** Committed offsets by topic, then partition. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  private rebalanceTimer: NodeJS.Timeout | undefined;

  constructor(readonly id: string) {}

  join(request: {
    memberId: string;
    clientId: string;
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    protocols: readonly MemberProtocol[];
  }): Promise<JoinResult> {
    // KIP-394: a member joining without an id is given one and asked to join again with it.
    if (request.memberId === "") {
      const memberId = `${request.clientId}-${randomUUID()}`;
      this.pendingMemberIds.add(memberId);
      return Promise.resolve(failedJoin(ErrorCode.MEMBER_ID_REQUIRED, memberId));
    }
    const known = this.members.get(request.memberId);
    if (known === undefined && !this.pendingMemberIds.delete(request.memberId))
      return Promise.resolve(failedJoin(ErrorCode.UNKNOWN_MEMBER_ID, request.memberId));
    const member: Member = known ?? {
      id: request.memberId,
      sessionTimeoutMs: 0,
      rebalanceTimeoutMs: 0,
      protocols: [],
      lastSeen: 0,
      assignment: Buffer.alloc(0),
      join: undefined,
      sync: undefined,
    };
    Object.assign(member, {
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      protocols: request.protocols,
      lastSeen: Date.now(),
    });
    this.members.set(member.id, member);
    member.join?.(failedJoin(ErrorCode.REBALANCE_IN_PROGRESS, member.id));
    const joined = new Promise<JoinResult>((resolve) => {
      member.join = resolve;
    });
    this.prepareRebalance();
    this.completeJoinIfReady();
    return joined;
  }

  sync(
    generationId: number,
    memberId: string,
    assignments: readonly { memberId: string; assignment: Buffer }[],
  ): Promise<{ errorCode: number; assignment: Buffer }> {
    const member = this.members.get(memberId);
    const refused = (errorCode: number) => Promise.resolve({ errorCode, assignment: Buffer.alloc(0) });
    if (member === undefined) return refused(ErrorCode.UNKNOWN_MEMBER_ID);
    if (this.state === "preparing") return refused(ErrorCode.REBALANCE_IN_PROGRESS);
    if (generationId !== this.generationId) return refused(ErrorCode.ILLEGAL_GENERATION);
    member.lastSeen = Date.now();
    if (this.state === "stable") return Promise.resolve({ errorCode: 0, assignment: member.assignment });
    const synced = new Promise<{ errorCode: number; assignment: Buffer }>((resolve) => {
      member.sync = resolve;
    });
    if (memberId === this.leader) {
      for (const m of this.members.values())
        m.assignment = assignments.find((a) => a.memberId === m.id)?.assignment ?? Buffer.alloc(0);
      this.state = "stable";
      for (const m of this.members.values()) {
        m.sync?.({ errorCode: 0, assignment: m.assignment });
        m.sync = undefined;
      }
    }
    return synced;
  }

  heartbeat(generationId: number, memberId: string): number {
    const member = this.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    member.lastSeen = Date.now();
    if (this.state === "preparing") return ErrorCode.REBALANCE_IN_PROGRESS;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    return 0;
  }

  leave(memberId: string): number {
    if (!this.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.remove([memberId]);
    return 0;
  }

  /** Checks a commit's generation: -1 with no member id is a commit from outside the group. */
  checkCommit(generationId: number, memberId: string): number {
    if (generationId < 0 && memberId === "") return 0;
    const member = this.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    if (this.state === "completing") return ErrorCode.REBALANCE_IN_PROGRESS;
    member.lastSeen = Date.now();
    return 0;
  }

  commit(topic: string, partition: number, committed: CommittedOffset): void {
    let partitions = this.offsets.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.offsets.set(topic, partitions);
    }
    partitions.set(partition, committed);
  }

  /** Drops members whose session timed out while they were not waiting in a rebalance. */
  expireSessions(now: number): void {
    const expired = [...this.members.values()].filter(
      (m) => m.join === undefined && now - m.lastSeen > m.sessionTimeoutMs,
    );
    if (expired.length > 0) this.remove(expired.map((m) => m.id));
  }

  close(): void {
    clearTimeout(this.rebalanceTimer);
  }

  private remove(memberIds: readonly string[]): void {
    for (const id of memberIds) this.members.delete(id);
    if (this.leader !== undefined && !this.members.has(this.leader)) this.leader = undefined;
    if (this.members.size === 0) {
      clearTimeout(this.rebalanceTimer);
      this.state = "empty";
      return;
    }
    this.prepareRebalance();
    this.completeJoinIfReady();
  }

  private prepareRebalance(): void {
    if (this.state === "preparing") return;
    this.state = "preparing";
    for (const m of this.members.values()) {
      m.sync?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: Buffer.alloc(0) });
      m.sync = undefined;
    }
    const timeoutMs = Math.max(...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
    this.rebalanceTimer = setTimeout(() => {
      // Members that did not join again in time are out of the group.
      const late = [...this.members.values()].filter((m) => m.join === undefined).map((m) => m.id);
      for (const id of late) this.members.delete(id);
      this.completeJoin();
    }, timeoutMs);
    this.rebalanceTimer.unref();
  }

  private completeJoinIfReady(): void {
    if (this.state === "preparing" && [...this.members.values()].every((m) => m.join !== undefined))
      this.completeJoin();
  }

  private completeJoin(): void {
    clearTimeout(this.rebalanceTimer);
    const members = [...this.members.values()];
    const [first] = members;
    if (first === undefined) {
      this.state = "empty";
      return;
    }
    this.generationId++;
    if (this.leader === undefined || !this.members.has(this.leader)) this.leader = first.id;
    const leader = this.leader;
    this.protocolName =
      first.protocols
        .map((p) => p.name)
        .find((name) => members.every((m) => m.protocols.some((p) => p.name === name))) ?? null;
    this.state = "completing";
    const all = members.map((m) => ({
      memberId: m.id,
      metadata: m.protocols.find((p) => p.name === this.protocolName)?.metadata ?? Buffer.alloc(0),
    }));
    for (const m of members) {
      m.lastSeen = Date.now();
      m.join?.({
        errorCode: this.protocolName === null ? ErrorCode.INCONSISTENT_GROUP_PROTOCOL : 0,
        generationId: this.generationId,
        protocolName: this.protocolName,
        leader,
        memberId: m.id,
        members: m.id === leader ? all : [],
      });
      m.join = undefined;
    }
  }
}

function failedJoin(errorCode: number, memberId: string): JoinResult {
  return { errorCode, generationId: -1, protocolName: null, leader: "", memberId, members: [] };
}

/** The groups of the broker (it coordinates every one), created on first use. */
export class GroupCoordinator {
  readonly groups = new Map<string, Group>();
  private readonly sweeper = setInterval(() => {
    const now = Date.now();
    for (const group of this.groups.values()) group.expireSessions(now);
  }, 250).unref();

  group(id: string): Group {
    let group = this.groups.get(id);
    if (group === undefined) {
      group = new Group(id);
      this.groups.set(id, group);
    }
    return group;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const group of this.groups.values()) group.close();
  }
}
