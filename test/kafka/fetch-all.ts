/** Fetching from a source until a test's messages all came. */
import type { IngestSource, SourceMessage } from "../../src/ingest/source.js";

/**
 * Fetches from `source` until `count` messages came, in the order fetched. One fetch hands out what
 * came within its wait, which on a loaded machine may be fewer than all; a source that never hands
 * out `count` fails at the test's timeout.
 */
export async function fetchAll<M extends SourceMessage>(
  source: IngestSource<M>,
  count: number,
  signal: AbortSignal,
): Promise<M[]> {
  const messages: M[] = [];
  while (messages.length < count)
    messages.push(...(await source.fetch(count - messages.length, 1000, signal)));
  return messages;
}
