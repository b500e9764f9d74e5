/**
 * Large messages for the redacted JSON's byte limit, each several MB of JSON: many repeated messages,
 * one long string of multi-byte characters and escapes, long bytes, a large map, and a deep tree (with
 * a hand-made recursive shape: the payload fixture has no recursive message). A canary is in every
 * sensitive field. Built the same way each time, so their JSON can be pinned by a hash.
 */
import type { MessageShape } from "../../src/rules/message-shape.js";
import { Kind, type PutSecretRequest } from "../fixtures/gen/payload/payload.js";
import { CANARY, putSecretRequest } from "./messages.js";

/** message Node { string name = 1; repeated Node children = 2; string token = 3 [sensitive]; } */
export const NodeShape: MessageShape = {
  typeName: "large.Node",
  fields: [
    { no: 1, name: "name", kind: "scalar", scalar: "string", repeated: false, sensitive: false },
    { no: 2, name: "children", kind: "message", message: () => NodeShape, repeated: true, sensitive: false },
    { no: 3, name: "token", kind: "scalar", scalar: "string", repeated: false, sensitive: true },
  ].map((field) => ({
    ...field,
    jsonName: field.name,
    properties: [field.name],
    optional: false,
    oneof: undefined,
  })),
} as MessageShape;

export interface TreeNode {
  name: string;
  token: string;
  children: TreeNode[];
}

/** A binary tree `depth` levels deep under its root, a canary token in every node. */
export function tree(depth: number, name = "n"): TreeNode {
  return {
    name,
    token: CANARY,
    children: depth === 0 ? [] : [tree(depth - 1, `${name}0`), tree(depth - 1, `${name}1`)],
  };
}

/** putSecretRequest() without the lists added after these messages' JSON was pinned by a hash. */
function pinnedBase(): PutSecretRequest {
  return { ...putSecretRequest(), aliases: [], chunks: [] };
}

/** 80,000 credentials (about 4.4 MB encoded), each with a sensitive password and recovery code. */
export function manyCredentials(): PutSecretRequest {
  return {
    ...pinnedBase(),
    credentials: Array.from({ length: 80_000 }, (_, i) => ({
      username: `user-${i}`,
      password: CANARY,
      recoveryCodes: [CANARY],
      kind: i % 3 === 0 ? Kind.KIND_PASSWORD : Kind.KIND_API_KEY,
    })),
  };
}

/** A 4 MB `name` (the first field) of multi-byte characters, surrogate pairs, quotes and controls. */
export function longName(): PutSecretRequest {
  return { ...pinnedBase(), name: `start ${'é€😀 "q" \\ \n\u0001 x'.repeat(160_000)}` };
}

/** 4 MB of `salt` bytes, written as base64. */
export function longBytes(): PutSecretRequest {
  const salt = Buffer.alloc(4_000_000);
  for (let i = 0; i < salt.length; i++) salt[i] = (i * 31 + 7) & 0xff;
  return { ...pinnedBase(), name: "", salt };
}

/** 100,000 labels: every key is looked at (its JSON is in key order), only the values shown are read. */
export function manyLabels(): PutSecretRequest {
  const labels: Record<string, string> = {};
  for (let i = 0; i < 100_000; i++) labels[`label-${(i * 7919) % 100_000}`] = `value-${i}`;
  return { ...pinnedBase(), labels };
}

const MARKER = "…[truncated]";

/** The documented cut of a JSON text, written independently: whole characters while they fit beside the marker. */
export function documentedCut(json: string, maxBytes: number): string {
  if (Buffer.byteLength(json) <= maxBytes) return json;
  let kept = "";
  let size = 0;
  for (const char of json) {
    size += Buffer.byteLength(char);
    if (size > maxBytes - Buffer.byteLength(MARKER)) break;
    kept += char;
  }
  return `${kept}${MARKER}`;
}
