/**
 * Milliseconds on a monotonic clock, for every deadline and interval of the delivery pipeline: a
 * wall-clock step (NTP, a VM resumed, an operator) must neither stretch nor cut a wait, as
 * `Date.now()` differences would. Only differences between two readings mean anything.
 * @internal
 */
export function monotonicNow(): number {
  return performance.now();
}
