import { createBatch } from "./batch.js";
import type { IngestStore, SourceMessage } from "./source.js";

/** Messages of a batch inserted in halves: those stored, and those the store refused alone, with why. @internal */
export interface Halves<M> {
  stored: M[];
  refused: { message: M; reason: string }[];
}

/** Longest part of the store's error kept in a refused message's reason. */
const MAX_REASON_CHARS = 300;

/**
 * True for a store's refusal of rows that no retry can clear: a PostgreSQL SQLSTATE of class 22 (data
 * exception) or 54 (program limit exceeded, such as an index entry over 2704 bytes), on the error or
 * on its cause (a store may wrap the driver's error); or an error that says so (`refusesRows: true`:
 * the PostgreSQL store's refusal of rows whose month's partition its role may not create). Anything
 * else may pass (a lost connection, or a permission missing for every row).
 * @internal
 */
export function refusesRows(error: unknown): boolean {
  if (
    typeof error === "object" &&
    error !== null &&
    (error as { refusesRows?: unknown }).refusesRows === true
  )
    return true;
  return /^(22|54)[0-9A-Z]{3}$/.test(sqlState(error) ?? "");
}

function sqlState(error: unknown): string | undefined {
  for (let e = error, depth = 0; typeof e === "object" && e !== null && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Inserts `messages` (all decodable; their batch was refused with `refusal`, see `refusesRows`) in
 * halves, each its own transaction, halving a refused half again until the refused messages are
 * alone: at most about 2·log2(n) inserts per refused message. `counted` is told each insert that
 * committed (events new, events the store held or repeated). Throws a failure that is not a refusal.
 * @internal
 */
export async function insertHalves<M extends SourceMessage>(
  store: IngestStore,
  messages: readonly M[],
  refusal: unknown,
  counted: (inserted: number, duplicates: number) => void,
): Promise<Halves<M>> {
  const halves: Halves<M> = { stored: [], refused: [] };
  const split = async (part: readonly M[], error: unknown): Promise<void> => {
    if (part.length === 1) {
      halves.refused.push({ message: part[0] as M, reason: refusedReason(error) });
      return;
    }
    const middle = Math.ceil(part.length / 2);
    for (const half of [part.slice(0, middle), part.slice(middle)]) {
      const batch = createBatch(store);
      for (const message of half) batch.add(message);
      batch.prepare();
      try {
        const inserted = await batch.insert();
        counted(inserted, batch.copies + batch.size - inserted);
        halves.stored.push(...half);
      } catch (failure) {
        if (!refusesRows(failure)) throw failure;
        await split(half, failure);
      }
    }
  };
  await split(messages, refusal);
  return halves;
}

function refusedReason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const cut = text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}…` : text;
  return `the store refused the event (${sqlState(error)}): ${cut}`;
}
