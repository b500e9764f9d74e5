/**
 * The APIs the stand-in implements, one version each: the ApiVersions response advertises exactly
 * these, and `@platformatic/kafka` (1.35) picks, per API, the highest advertised version it has
 * an implementation of. The versions are the lowest that client implements (several are flexible,
 * KIP-482: their request header and most response headers end with a TAG_BUFFER).
 */
import type { BrokerState } from "./broker-state.js";
import type { Reader, Writer } from "./codec.js";
import { fetch, listOffsets } from "./fetch-apis.js";
import { heartbeat, joinGroup, leaveGroup, offsetCommit, offsetFetch, syncGroup } from "./group-apis.js";
import { findCoordinator, metadata } from "./metadata-apis.js";
import { initProducerId, produce } from "./produce-apis.js";
import { saslAuthenticate, saslHandshake } from "./sasl-apis.js";

/**
 * Handles one request body into `response`; resolves to false when no response is sent (a produce
 * with acks = 0).
 */
export type Handler = (
  state: BrokerState,
  request: Reader,
  response: Writer,
  clientId: string,
) => void | boolean | Promise<void>;

/** One API at the one version implemented. */
export interface Api {
  readonly key: number;
  readonly name: string;
  readonly version: number;
  /** Flexible version: compact encodings and tagged fields. */
  readonly flexible: boolean;
  readonly handle: Handler;
}

const API_VERSIONS_KEY = 18;

/** Implemented APIs by key. */
export const APIS: ReadonlyMap<number, Api> = new Map(
  [
    {
      key: 0,
      name: "Produce",
      version: 7,
      flexible: false,
      handle: (s: BrokerState, r: Reader, w: Writer) => produce(s, r, w),
    },
    { key: 1, name: "Fetch", version: 12, flexible: true, handle: fetch },
    { key: 2, name: "ListOffsets", version: 5, flexible: false, handle: listOffsets },
    { key: 3, name: "Metadata", version: 9, flexible: true, handle: metadata },
    { key: 8, name: "OffsetCommit", version: 8, flexible: true, handle: offsetCommit },
    { key: 9, name: "OffsetFetch", version: 8, flexible: true, handle: offsetFetch },
    { key: 10, name: "FindCoordinator", version: 4, flexible: true, handle: findCoordinator },
    { key: 11, name: "JoinGroup", version: 6, flexible: true, handle: joinGroup },
    { key: 12, name: "Heartbeat", version: 4, flexible: true, handle: heartbeat },
    { key: 13, name: "LeaveGroup", version: 4, flexible: true, handle: leaveGroup },
    { key: 14, name: "SyncGroup", version: 4, flexible: true, handle: syncGroup },
    { key: 17, name: "SaslHandshake", version: 1, flexible: false, handle: saslHandshake },
    { key: API_VERSIONS_KEY, name: "ApiVersions", version: 3, flexible: true, handle: apiVersions },
    { key: 22, name: "InitProducerId", version: 3, flexible: true, handle: initProducerId },
    { key: 36, name: "SaslAuthenticate", version: 2, flexible: true, handle: saslAuthenticate },
  ].map((api) => [api.key, api]),
);

/**
 * Whether the response header has a TAG_BUFFER: in flexible versions, except ApiVersions, whose
 * response header stays v0 so that a client of any version can read the error of an unsupported one.
 */
export function responseHeaderTagged(api: Api): boolean {
  return api.flexible && api.key !== API_VERSIONS_KEY;
}

/** ApiVersions v3: every implemented API, with its one version as both min and max. */
function apiVersions(_state: BrokerState, request: Reader, response: Writer): void {
  request.string(true); // client software name
  request.string(true); // client software version
  response
    .int16(0)
    .array([...APIS.values()], (w, api) => w.int16(api.key).int16(api.version).int16(api.version))
    .int32(0)
    .taggedFields();
}
