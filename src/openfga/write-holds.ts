import type { TupleKeyWithoutCondition } from "@openfga/sdk";
import type { TupleChangeItem } from "../recorder/inputs.js";
import type { OpenFgaAuthorizer } from "./openfga-authorizer.js";
import type { RequestHooks } from "./request-watch.js";
import { type Change, item } from "./tuple-items.js";

/** The hooks that hold the authorizer's cache for each request of one call while it is in flight. @internal */
export interface WriteHolds extends RequestHooks {
  /** Ends the holds of requests whose answer never came (a lost connection, an abort): the call is over. */
  end(): void;
}

/**
 * Holds the authorizer's cache for each request of a call from when it is sent until its answer
 * comes: OpenFGA applies each request when it answers it, and a non-transactional write sends many,
 * one after another, so invalidating only when the whole call returns let checks in between be
 * answered from the cache after OpenFGA had removed a tuple. The tuples of a request are read from its
 * body (as the SDK sent it), else they are all the call's. Only an authorizer with `holdForWrite` (the
 * OpenFGA authorizer) is held; others are invalidated after the call only, as before. Never throws.
 * @internal
 */
export function writeHolds(authorizer: unknown, changes: readonly Change[]): WriteHolds {
  const holdForWrite = holdOf(authorizer);
  const open = new Map<unknown, (() => void)[]>();
  // No request is sent once the call is over (the SDK's signal has aborted); should one be, it is not held.
  let over = false;
  const release = (end: () => void) => {
    try {
      end();
    } catch {}
  };
  return {
    sent(body) {
      if (holdForWrite === undefined || over) return;
      const tuples = tuplesOfBody(body) ?? changes.map((change) => item(change, true));
      let end: () => void;
      try {
        const ended: unknown = holdForWrite(tuples);
        if (typeof ended !== "function") return;
        end = () => ended();
      } catch {
        return;
      }
      const ends = open.get(body) ?? [];
      ends.push(end);
      open.set(body, ends);
    },
    answered(body) {
      const end = open.get(body)?.shift();
      if (end !== undefined) release(end);
    },
    end() {
      over = true;
      for (const ends of open.values()) for (const end of ends) release(end);
      open.clear();
    },
  };
}

/** The authorizer's `holdForWrite`, bound to it, when it has one. Never throws. */
function holdOf(authorizer: unknown): OpenFgaAuthorizer["holdForWrite"] | undefined {
  try {
    const hold = (authorizer as Partial<Pick<OpenFgaAuthorizer, "holdForWrite">> | undefined)?.holdForWrite;
    return typeof hold === "function" ? hold.bind(authorizer) : undefined;
  } catch {
    return undefined;
  }
}

/** The tuples a write request's body (the SDK's JSON) writes and deletes; undefined when it cannot be read. */
function tuplesOfBody(body: unknown): TupleChangeItem[] | undefined {
  try {
    if (typeof body !== "string") return undefined;
    const parsed = JSON.parse(body) as {
      writes?: { tuple_keys?: unknown };
      deletes?: { tuple_keys?: unknown };
    };
    const keys = [parsed.writes?.tuple_keys ?? [], parsed.deletes?.tuple_keys ?? []];
    if (!keys.every(Array.isArray)) return undefined;
    const tuples = (keys as TupleKeyWithoutCondition[][]).flat();
    return tuples.length === 0 ? undefined : tuples.map((tuple) => item({ operation: "write", tuple }, true));
  } catch {
    return undefined;
  }
}
