/**
 * A count and its noun, the noun plural unless the count is 1: "1 event", "0 events", "3 chains". For
 * messages people read (error texts, CLI summaries); regular English plurals only.
 * @internal
 */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
