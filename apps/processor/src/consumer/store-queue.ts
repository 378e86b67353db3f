/**
 * Runs jobs `width` at a time, each key's (a partition's) one after another in the order they were
 * added, so that its offsets are committed in order. Up to `width` more jobs may wait; add() holds
 * the next caller until one finishes. A job that fails is reported to `onError` and no later job of
 * its key runs, whenever it is added: nothing past it gets committed. close() stops taking jobs, lets running ones
 * finish, and drops those not started.
 */
export class StoreQueue {
  #free: number;
  readonly #slotWaiters: (() => void)[] = [];
  readonly #tails = new Map<string, Promise<boolean>>();
  #pending = 0;
  #roomWaiters: (() => void)[] = [];
  #closed = false;
  /** Keys with a failed job: none of their later jobs runs, also ones added after the failure. */
  readonly #failed = new Set<string>();

  constructor(
    private readonly width: number,
    private readonly onError: (error: unknown) => void,
    private readonly waitSliceMs = 1000,
  ) {
    this.#free = width;
  }

  /** Jobs added and not finished (running or waiting). */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Queues `job` after `key`'s previous job, once there is room (`heartbeat` is called every
   * second while waiting). False when the queue is closed: the job was not queued.
   */
  async add(key: string, heartbeat: () => Promise<void>, job: () => Promise<void>): Promise<boolean> {
    while (!this.#closed && this.#pending >= 2 * this.width) {
      let wake = () => {};
      const room = new Promise<void>((resolve) => {
        wake = resolve;
        this.#roomWaiters.push(resolve);
      });
      const timer = setTimeout(wake, this.waitSliceMs);
      await room;
      clearTimeout(timer);
      this.#roomWaiters = this.#roomWaiters.filter((w) => w !== wake);
      if (!this.#closed) await heartbeat();
    }
    if (this.#closed) return false;
    this.#pending += 1;
    const previous = this.#tails.get(key);
    const run = (async () => {
      try {
        if (previous) await previous;
        // NOTE: kafkajs reads on past a queued batch (its offset is resolved when queued), so a later
        // batch of a failed key may come after its chain has drained: it must not run (and commit).
        if (this.#failed.has(key)) return false;
        await this.#slot();
        try {
          if (this.#closed) return false;
          await job();
          return true;
        } finally {
          this.#release();
        }
      } catch (error) {
        this.#failed.add(key);
        this.onError(error);
        return false;
      } finally {
        this.#pending -= 1;
        for (const wake of this.#roomWaiters.splice(0)) wake();
      }
    })();
    this.#tails.set(key, run);
    void run.then(() => {
      if (this.#tails.get(key) === run) this.#tails.delete(key);
    });
    return true;
  }

  /** Takes no more jobs; resolves when the running ones have finished (those not started are dropped). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#roomWaiters.splice(0)) wake();
    await Promise.all([...this.#tails.values()]);
  }

  #slot(): Promise<void> {
    if (this.#free > 0) {
      this.#free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#slotWaiters.push(resolve));
  }

  #release(): void {
    const next = this.#slotWaiters.shift();
    if (next) next();
    else this.#free += 1;
  }
}
