/**
 * Counts per key in fixed time windows, in bounded memory: past `maxTracked` keys, expired windows
 * and then the oldest are dropped. Behind the auth-failure limiter and ingest's event rate.
 */
export class WindowCounter {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly o: { windowMs: number; maxTracked: number }) {}

  /** The count of `key` in its current window (0 when it has none). */
  count(key: string, now = Date.now()): number {
    const w = this.#windows.get(key);
    return w && w.resetAt > now ? w.count : 0;
  }

  /** Milliseconds until the window of `key` ends (0 when it has none). */
  resetIn(key: string, now = Date.now()): number {
    const w = this.#windows.get(key);
    return w && w.resetAt > now ? w.resetAt - now : 0;
  }

  add(key: string, n = 1, now = Date.now()): number {
    let w = this.#windows.get(key);
    if (!w || w.resetAt <= now) {
      this.#windows.delete(key);
      if (this.#windows.size >= this.o.maxTracked) this.#evict(now);
      w = { count: 0, resetAt: now + this.o.windowMs };
      this.#windows.set(key, w);
    }
    w.count += n;
    return w.count;
  }

  /** Takes `n` back from the current window of `key` (never below 0; nothing once the window ended). */
  subtract(key: string, n: number, now = Date.now()): void {
    const w = this.#windows.get(key);
    if (w && w.resetAt > now) w.count = Math.max(0, w.count - n);
  }

  get size(): number {
    return this.#windows.size;
  }

  #evict(now: number): void {
    for (const [key, w] of this.#windows) if (w.resetAt <= now) this.#windows.delete(key);
    // Still full: drop the oldest windows (a Map iterates in insertion order).
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < this.o.maxTracked) break;
      this.#windows.delete(key);
    }
  }
}
