// keep_alive seconds → the idle timer's milliseconds, with setTimeout's range in mind.

/**
 * setTimeout's largest delay: 2^31 − 1 ms, about 24.8 days. Node fires a longer one after 1 ms (with a
 * TimeoutOverflowWarning), which would unload a model at once for keep_alive "720h" or 1e308.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Negative means forever (-1); so does anything a timer cannot wait for (≥ MAX_TIMER_MS). */
export function keepAliveMsOf(seconds: number): number {
  if (seconds < 0 || !Number.isFinite(seconds)) return -1;
  const ms = Math.round(seconds * 1000);
  return ms >= MAX_TIMER_MS ? -1 : ms;
}
