/** First retry waits up to this long (ms); each further attempt doubles it. */
export const BASE_DELAY_MS = 1000;
/** No computed backoff waits longer than this (ms). */
export const MAX_DELAY_MS = 60_000;
/** A Retry-After longer than this (ms) is capped: the page would be long gone. */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * Milliseconds from a Retry-After header: delta-seconds or an HTTP date; undefined when absent or
 * unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isNaN(ms) ? undefined : Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * Delay before retry number `attempt` (1 = first retry): the server's Retry-After when it gave one,
 * else exponential backoff with "equal jitter" (half fixed, half random) so a fleet of browsers
 * that failed together does not retry together.
 */
export function backoffDelay(
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** True for answers worth retrying: 429 and 5xx. Other 4xx mean the batch itself is refused. */
export function isRetryable(status: number): boolean {
  return status === 429 || status >= 500;
}
