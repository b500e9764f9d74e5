/**
 * The longest delay a Node timer holds (2^31 - 1 ms, ~24.8 days): setTimeout fires a longer one after
 * 1 ms, so a timeout of "a month" would abort every write, or end every flush, at once.
 * @internal
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
